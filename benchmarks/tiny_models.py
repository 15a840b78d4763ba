"""Benchmark: real speculative decoding with the tiny models on this CPU, against plain decoding.

Run ``python benchmarks/tiny_models.py [--num-draft K[,K...]] [--max-new-tokens N] [--repeats R]``.
Prints, all measured in this run on this machine:

1. the cost of one target pass over 1, 2, 3, 5 and 9 positions (why verification pays, and where it
   stops paying: on a CPU k positions cost about as much as one only while reading the weights, not
   the arithmetic, takes the time) and of one draft step;
2. a sweep of drafted tokens per pass for each draft kind (by default STANDALONE 1-3, EAGLE 1-4, NGRAM
   2-16): accept length and speedup per category, and the count that is fastest for that kind;
3. at each kind's fastest count, per prompt category, at temperature 0: accept length (tokens per
   target pass), plain and speculative tokens/s, the speedup, and speedup / accept length (the share of
   the ideal kept once drafting and the larger verify pass are paid), the same two for the decoding
   alone (the prompt's prefill, the same work for both, left out, as TPOT leaves out the first token),
   how many speculative outputs equal the plain ones token for token, and how many plain outputs end
   in a loop (the second half repeats with a period of at most 8 tokens: acceptance there says the
   model is stuck, not that the text is predictable);
4. the time to first token of 4 requests sent at once to a tiny practice server.

Plain and speculative runs of a prompt alternate and the best of ``R`` is kept, so a busy machine
slows both alike. Nothing here is a test: figures depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.tiny_models import DraftKind, generate, load_models  # noqa: E402
from core.tiny_models.suite import tiny_prompt_suite  # noqa: E402

GOAL_SPEEDUP, GOAL_SHARE_OF_IDEAL = 2.0, 0.6
DEFAULT_SWEEP = {"STANDALONE": (1, 2, 3), "EAGLE": (1, 2, 3, 4), "NGRAM": (2, 3, 4, 6, 8, 12, 16)}


def looping(ids: list[int], max_period: int = 8) -> bool:
    """Whether the second half of ``ids`` repeats itself with a period of at most ``max_period``."""
    half = ids[len(ids) // 2 :]
    return len(half) > 2 * max_period and any(
        all(half[i] == half[i - p] for i in range(p, len(half))) for p in range(1, max_period + 1)
    )


def _best_seconds(work, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - started)
    return best


def pass_costs(models, repeats: int = 50) -> None:
    """Seconds of one target call over 1, 2, 3, 5 and 9 new positions after a 100-token context, and of
    one step of each draft model."""
    target = models.target
    context = list(np.arange(1, 101) % models.tokenizer.vocab_size)
    cache = target.new_cache()
    target.forward(context, cache)

    def call(n):
        def work():
            cache.truncate(100)
            target.forward(context[:n], cache)

        return work

    costs = {n: _best_seconds(call(n), repeats) for n in (1, 2, 3, 5, 9)}
    draft = models.standalone
    dcache = draft.new_cache()
    draft.forward(context, dcache)

    def draft_step():
        dcache.truncate(100)
        draft.forward(context[:1], dcache)

    head, hcache = models.eagle, models.eagle.new_cache()
    features = np.zeros((100, target.config.d_model), dtype=np.float32)
    head.forward(features[:99], context[1:100], hcache)

    def eagle_step():
        hcache.truncate(99)
        head.forward(features[:1], context[:1], hcache)

    d_one, e_one = _best_seconds(draft_step, repeats), _best_seconds(eagle_step, repeats)
    one = costs[1]
    print(f"Target pass cost (best of {repeats}, measured):")
    for n, secs in costs.items():
        print(
            f"  {n} position{'s' if n > 1 else ' '}       {secs * 1e3:8.3f} ms   ({secs / one:.2f}x one position)"
        )
    print(f"  STANDALONE draft step {d_one * 1e3:8.3f} ms   ({d_one / one:.2f}x a target pass)")
    print(f"  EAGLE head step       {e_one * 1e3:8.3f} ms   ({e_one / one:.2f}x a target pass)")


def _run_prompts(models, kind, k: int, max_new: int, repeats: int) -> list[dict]:
    """Each suite prompt decoded plainly and with ``kind`` (alternating, best of ``repeats`` kept)."""
    out = []
    for prompt in tiny_prompt_suite():
        ids = models.tokenizer.encode(prompt.text)
        plain_s = spec_s = plain_d = spec_d = float("inf")
        for _ in range(repeats):
            plain = generate(models, ids, None, max_new_tokens=max_new)
            spec = generate(models, ids, kind, num_draft=k, max_new_tokens=max_new)
            plain_s, spec_s = min(plain_s, plain.seconds), min(spec_s, spec.seconds)
            plain_d = min(plain_d, plain.seconds - plain.prefill_seconds)
            spec_d = min(spec_d, spec.seconds - spec.prefill_seconds)
        out.append(
            {
                "category": prompt.category,
                "pt": len(plain.output_ids),
                "ps": plain_s,
                "st": len(spec.output_ids),
                "ss": spec_s,
                "pd": plain_d,
                "sd": spec_d,
                "tok": sum(len(p.emitted) for p in spec.passes),
                "pas": len(spec.passes),
                "same": plain.output_ids == spec.output_ids,
                "loop": looping(plain.output_ids),
            }
        )
    return out


def _rates(runs: list[dict], phase: str = "request") -> tuple[float, float, float]:
    """(accept length, plain tokens/s, speculative tokens/s) over ``runs``; NaN when there are none.
    ``phase`` "request": over each whole request, prefill included; "decode": prefill left out."""
    if not runs:
        return float("nan"), float("nan"), float("nan")
    plain_s, spec_s = ("ps", "ss") if phase == "request" else ("pd", "sd")
    total = {key: sum(r[key] for r in runs) for key in ("pt", "st", "tok", "pas", plain_s, spec_s)}
    return total["tok"] / total["pas"], total["pt"] / total[plain_s], total["st"] / total[spec_s]


def measure(models, kinds, k: int, max_new: int, repeats: int) -> list[dict]:
    """One row per (draft kind, category): accept length, tokens/s, speedup, identity count, and the
    same over the prompts whose plain output does not loop."""
    rows = []
    for kind in kinds:
        runs = _run_prompts(models, kind, k, max_new, repeats)
        for cat in dict.fromkeys(r["category"] for r in runs):
            mine = [r for r in runs if r["category"] == cat]
            accept, plain_rate, spec_rate = _rates(mine)
            clean_accept, clean_plain, clean_spec = _rates([r for r in mine if not r["loop"]])
            _, decode_plain, decode_spec = _rates(mine, "decode")
            rows.append(
                {
                    "kind": str(kind),
                    "k": k,
                    "category": cat,
                    "accept_length": accept,
                    "plain_tps": plain_rate,
                    "spec_tps": spec_rate,
                    "speedup": spec_rate / plain_rate,
                    "share_of_ideal": spec_rate / plain_rate / accept,
                    "decode_speedup": decode_spec / decode_plain,
                    "same": sum(r["same"] for r in mine),
                    "n": len(mine),
                    "loops": sum(r["loop"] for r in mine),
                    "clean_accept": clean_accept,
                    "clean_speedup": clean_spec / clean_plain,
                }
            )
    return rows


def print_rows(rows: list[dict], max_new: int) -> None:
    print(
        f"\nGreedy (temperature 0), each kind at its fastest drafts per pass, {max_new} new tokens (measured):"
    )
    print(
        f"  {'draft':10s} {'k':>2s} {'category':10s} {'accept':>7s} {'plain t/s':>10s} {'spec t/s':>10s} "
        f"{'speedup':>8s} {'/accept':>8s} {'decode':>7s} {'/accept':>8s} {'identical':>10s} {'loops':>6s} "
        f"{'no-loop accept / speedup':>25s}"
    )
    for r in rows:
        print(
            f"  {r['kind']:10s} {r['k']:2d} {r['category']:10s} {r['accept_length']:7.2f} {r['plain_tps']:10.1f} "
            f"{r['spec_tps']:10.1f} {r['speedup']:7.2f}x {r['share_of_ideal']:8.2f} "
            f"{r['decode_speedup']:6.2f}x {r['decode_speedup'] / r['accept_length']:8.2f} "
            f"{r['same']:>5d} of {r['n']} {r['loops']:>3d}/{r['n']}"
            f"   {r['clean_accept']:7.2f} / {r['clean_speedup']:5.2f}x"
        )
    best = max(rows, key=lambda r: r["speedup"])
    print(
        f"\n  Best: {best['kind']} (k={best['k']}) on {best['category']}: speedup {best['speedup']:.2f}x "
        f"(goal >= {GOAL_SPEEDUP}x: {'ok' if best['speedup'] >= GOAL_SPEEDUP else 'BELOW GOAL'}), "
        f"{best['share_of_ideal']:.2f} of the ideal (goal >= {GOAL_SHARE_OF_IDEAL}: "
        f"{'ok' if best['share_of_ideal'] >= GOAL_SHARE_OF_IDEAL else 'BELOW GOAL'})"
    )
    mine = [r for r in rows if r["kind"] == best["kind"]]
    predictable = max(mine, key=lambda r: r["accept_length"])
    print(
        f"  Most predictable category for {best['kind']} (highest accept length): {predictable['category']} "
        f"(accept {predictable['accept_length']:.2f}): speedup {predictable['speedup']:.2f}x, "
        f"{predictable['share_of_ideal']:.2f} of the ideal; decoding alone {predictable['decode_speedup']:.2f}x, "
        f"{predictable['decode_speedup'] / predictable['accept_length']:.2f}; "
        f"{predictable['loops']} of its {predictable['n']} plain outputs loop"
    )
    clean = [r for r in rows if r["loops"] < r["n"]]
    if clean:
        top = max(clean, key=lambda r: r["clean_speedup"])
        print(
            f"  Best over outputs that do not loop: {top['kind']} (k={top['k']}) on {top['category']}: "
            f"accept {top['clean_accept']:.2f}, speedup {top['clean_speedup']:.2f}x "
            f"({top['n'] - top['loops']} of {top['n']} prompts)"
        )


def concurrent_ttft(kind: str, k: int, users: int = 4) -> None:
    """Time to first token of ``users`` streamed requests sent together to a tiny practice server."""
    import requests

    from core.serving.practice_server import PracticeConfig, PracticeServer

    prompts = [p.text for p in tiny_prompt_suite()][::6][:users]
    config = PracticeConfig(
        engine="tiny", speculative=True, algorithm=kind, num_steps=k, eagle_topk=1, num_draft_tokens=k + 1
    )
    with PracticeServer(config) as server:

        def first_token_s(text: str) -> float:
            started = time.perf_counter()
            body = {"text": text, "sampling_params": {"max_new_tokens": 64, "temperature": 0}, "stream": True}
            with requests.post(server.url + "/generate", json=body, stream=True, timeout=60) as response:
                for line in response.iter_lines():
                    if line.startswith(b"data: {"):
                        return time.perf_counter() - started
            return float("inf")

        first_token_s("warm up")
        with concurrent.futures.ThreadPoolExecutor(users) as pool:
            waits = list(pool.map(first_token_s, prompts))
    print(
        f"\nPractice server (--engine tiny, {kind}), {users} requests at once: time to first token "
        + ", ".join(f"{w * 1e3:.0f} ms" for w in waits)
        + f"; worst {max(waits) * 1e3:.0f} ms (goal < 1000 ms: {'ok' if max(waits) < 1 else 'BELOW GOAL'})"
    )


def sweep(models, kinds, counts: dict, max_new: int, repeats: int) -> list[dict]:
    """Each kind at each count of drafts per pass; prints accept length and speedup per category and
    returns the rows of each kind's fastest count (by the mean speedup over the categories)."""
    chosen = []
    print(f"\nSweep of drafts per pass (greedy, {max_new} new tokens, measured): accept length / speedup")
    for kind in kinds:
        results = {k: measure(models, [kind], k, max_new, repeats) for k in counts[str(kind)]}
        cats = [r["category"] for r in next(iter(results.values()))]
        print(f"  {str(kind):10s} {'k':>2s}  " + "  ".join(f"{c:>14s}" for c in cats) + "   mean speedup")
        for k, rows in results.items():
            cells = "  ".join(f"{r['accept_length']:6.2f} / {r['speedup']:4.2f}x" for r in rows)
            print(f"  {'':10s} {k:2d}  {cells}   {np.mean([r['speedup'] for r in rows]):5.2f}x")
        best_k = max(results, key=lambda k: np.mean([r["speedup"] for r in results[k]]))
        print(f"  {'':10s} fastest: k = {best_k}")
        chosen.extend(results[best_k])
    return chosen


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--num-draft",
        default=None,
        help="drafted tokens per pass to sweep, e.g. 4 or 2,4,8 (default per kind: "
        + "; ".join(f"{k} {','.join(map(str, v))}" for k, v in DEFAULT_SWEEP.items())
        + ")",
    )
    parser.add_argument("--max-new-tokens", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=2, help="runs per prompt, best kept (default 2)")
    parser.add_argument("--kinds", default="STANDALONE,EAGLE,NGRAM")
    args = parser.parse_args()
    try:
        kinds = [DraftKind(k.strip().upper()) for k in args.kinds.split(",")]
        own = [int(k) for k in args.num_draft.split(",")] if args.num_draft else None
    except ValueError as exc:
        parser.error(f"--kinds takes STANDALONE, EAGLE, NGRAM; --num-draft whole numbers ({exc})")
    if own is not None and min(own) < 1:
        parser.error("--num-draft: every count must be at least 1")
    counts = {str(k): own or DEFAULT_SWEEP[str(k)] for k in kinds}
    models = load_models()
    m = models.manifest["models"]
    print(
        f"Tiny models: target {m['target']['parameters'] / 1e6:.2f} M parameters "
        f"(held-out perplexity {m['target']['held_out_perplexity']}), STANDALONE draft "
        f"{m['standalone']['parameters'] / 1e6:.2f} M, EAGLE head {m['eagle']['parameters'] / 1e6:.2f} M"
    )
    pass_costs(models)
    rows = sweep(models, kinds, counts, args.max_new_tokens, args.repeats)
    print_rows(rows, args.max_new_tokens)
    best = max(rows, key=lambda r: r["speedup"])
    concurrent_ttft(best["kind"], best["k"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
