"""Print the make-up of the tiny models' corpus (documents, characters, code/prose share, held-out split).

Run ``python scripts/tiny_corpus.py``. The corpus is assembled by ``core.tiny_models.corpus`` from the
running Python's standard library and ``pydoc_data.topics``; ``speclab train-models`` uses the same.
"""

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.tiny_models.corpus import assemble_corpus  # noqa: E402

if __name__ == "__main__":
    corpus = assemble_corpus()
    print(json.dumps({"digest": corpus.digest, **corpus.make_up()}, indent=2))
