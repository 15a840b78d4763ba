"""The tiny models' prompt suite (``core/data/tiny_prompts.toml``) and measuring it.

Per-category accept lengths are what the models do with these prompts, measured by running them;
the suite file holds only prompts.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from importlib.resources import files

from core.tiny_models.speculative import Generation, generate


@dataclass(frozen=True)
class SuitePrompt:
    category: str
    label: str
    text: str


def tiny_prompt_suite() -> list[SuitePrompt]:
    """Every prompt of the suite, category by category, in file order."""
    data = tomllib.loads((files("core") / "data" / "tiny_prompts.toml").read_text(encoding="utf-8"))
    return [
        SuitePrompt(key, entry["label"], text)
        for key, entry in data["categories"].items()
        for text in entry["prompts"]
    ]


@dataclass(frozen=True)
class SuiteResult:
    """One prompt run plainly and speculatively at temperature 0."""

    prompt: SuitePrompt
    plain: Generation
    speculative: Generation

    @property
    def identical(self) -> bool:
        """Whether the speculative output equals the plain greedy output token for token."""
        return self.plain.output_ids == self.speculative.output_ids


def run_suite(models, draft, num_draft: int = 4, max_new_tokens: int = 48, prompts=None) -> list[SuiteResult]:
    """Each prompt decoded plainly and with ``draft`` (greedy); outputs, passes and seconds (measured)."""
    results = []
    for prompt in prompts if prompts is not None else tiny_prompt_suite():
        ids = models.tokenizer.encode(prompt.text)
        plain = generate(models, ids, None, max_new_tokens=max_new_tokens)
        spec = generate(models, ids, draft, num_draft=num_draft, max_new_tokens=max_new_tokens)
        results.append(SuiteResult(prompt, plain, spec))
    return results


def accept_length_by_category(results: list[SuiteResult]) -> dict[str, float]:
    """Tokens per target pass over each category's verify passes (measured)."""
    tokens: dict[str, int] = {}
    passes: dict[str, int] = {}
    for r in results:
        key = r.prompt.category
        tokens[key] = tokens.get(key, 0) + sum(len(p.emitted) for p in r.speculative.passes)
        passes[key] = passes.get(key, 0) + len(r.speculative.passes)
    return {k: tokens[k] / passes[k] for k in tokens}
