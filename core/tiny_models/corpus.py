"""The training corpus: text that ships with Python itself, so nothing is downloaded.

Code: every ``.py`` file of the standard library (the running interpreter's ``stdlib`` folder), with the
test suites (``test/``, ``tests/``, ``*_test*``, ``idle_test``), ``idlelib``, ``site-packages`` and
``lib2to3`` fixtures left out. Prose: the English reference texts in ``pydoc_data.topics`` (the text
``help("if")`` prints). Documents are sorted by name so the corpus and its digest are reproducible for
a given Python release; one document in twenty (chosen by a hash of its name, not at random) is held
out for perplexity.
"""

from __future__ import annotations

import hashlib
import sysconfig
from dataclasses import dataclass
from pathlib import Path

HELD_OUT_ONE_IN = 20
_SKIPPED_PARTS = {"test", "tests", "idlelib", "idle_test", "site-packages", "__pycache__", "fixers"}


@dataclass(frozen=True)
class Document:
    """One file or help topic: ``kind`` is ``"code"`` or ``"prose"``."""

    name: str
    kind: str
    text: str

    @property
    def held_out(self) -> bool:
        """True for the documents kept out of training (about 1 in ``HELD_OUT_ONE_IN``, by name hash)."""
        digest = hashlib.sha256(self.name.encode()).digest()
        return digest[0] % HELD_OUT_ONE_IN == 0


@dataclass(frozen=True)
class Corpus:
    """All documents in a fixed order, with a digest of their names and texts."""

    documents: tuple[Document, ...]

    @property
    def digest(self) -> str:
        """SHA-256 over every document's name and text, in order (hex)."""
        h = hashlib.sha256()
        for doc in self.documents:
            h.update(doc.name.encode())
            h.update(b"\0")
            h.update(doc.text.encode())
            h.update(b"\0")
        return h.hexdigest()

    def texts(self, held_out: bool) -> list[str]:
        """The texts of the training (``held_out=False``) or held-out documents."""
        return [d.text for d in self.documents if d.held_out == held_out]

    def make_up(self) -> dict:
        """Sizes in characters and documents, by kind and split, for the manifest and the docs."""
        out: dict = {"documents": len(self.documents), "characters": 0}
        for doc in self.documents:
            split = "held_out" if doc.held_out else "train"
            key = f"{doc.kind}_{split}_characters"
            out[key] = out.get(key, 0) + len(doc.text)
            out[f"{doc.kind}_documents"] = out.get(f"{doc.kind}_documents", 0) + 1
            out["characters"] += len(doc.text)
        code = sum(len(d.text) for d in self.documents if d.kind == "code")
        out["code_share"] = round(code / max(1, out["characters"]), 4)
        return out


def _wanted(path: Path, root: Path) -> bool:
    parts = path.relative_to(root).parts
    if any(p in _SKIPPED_PARTS for p in parts[:-1]):
        return False
    return not (path.name.startswith("test_") or "_test" in path.name)


def code_documents(stdlib: Path | None = None, max_files: int | None = None) -> list[Document]:
    """The standard library's ``.py`` files (tests and idlelib out), sorted by relative path."""
    root = Path(stdlib or sysconfig.get_paths()["stdlib"])
    paths = sorted(p for p in root.rglob("*.py") if _wanted(p, root))
    if max_files is not None:
        paths = paths[:max_files]
    docs = []
    for path in paths:
        text = path.read_text(encoding="utf-8", errors="replace")
        if text.strip():
            docs.append(Document(str(path.relative_to(root)), "code", text))
    return docs


def prose_documents(max_topics: int | None = None) -> list[Document]:
    """The ``pydoc_data.topics`` help texts, sorted by topic name."""
    from pydoc_data.topics import topics

    names = sorted(topics)[:max_topics] if max_topics is not None else sorted(topics)
    return [Document(f"pydoc_data.topics/{name}", "prose", topics[name]) for name in names]


def assemble_corpus(quick: bool = False) -> Corpus:
    """The full corpus, or (``quick``) a miniature of 15 files and 8 topics for tests."""
    if quick:
        return Corpus(tuple(code_documents(max_files=15) + prose_documents(max_topics=8)))
    return Corpus(tuple(code_documents() + prose_documents()))
