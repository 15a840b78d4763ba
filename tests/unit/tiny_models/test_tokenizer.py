"""The pure-Python BPE: round trips, and the same ids as the ``tokenizers`` library it was trained with."""

import pytest

from core.tiny_models.corpus import code_documents, prose_documents

TEXTS = [
    "def f(x):\n    return x ** 2  # square\n",
    "  \t mixed   whitespace\n\n\nand blank lines  ",
    "Unicode: café, naïve, 数字, emoji 🐍, and a zero-width\u200bspace",
    "12345678 0.5e-10 0xFF",
]


@pytest.mark.parametrize("text", TEXTS)
def test_round_trip_on_shipped_tokenizer(models, text):
    tok = models.tokenizer
    ids = tok.encode(text)
    assert tok.decode(ids) == text
    assert all(0 < i < tok.vocab_size for i in ids)


def test_merges_compress_code(models):
    text = code_documents(max_files=3)[0].text[:4000]
    ids = models.tokenizer.encode(text)
    assert len(ids) < len(text.encode()) / 2.5  # BPE learnt real subwords (about 3+ bytes a token)


def test_same_ids_as_tokenizers_library():
    pytest.importorskip("tokenizers", reason="the training extra (tokenizers) is not installed")
    from core.tiny_models.training import train_tokenizer

    train = [d.text for d in code_documents(max_files=12)] + [d.text for d in prose_documents(max_topics=5)]
    ours, hf = train_tokenizer(train, vocab_size=600)
    unseen = [d.text[:3000] for d in code_documents()[200:206]] + TEXTS
    for text in unseen:
        assert ours.encode(text) == hf.encode(text).ids
