"""``speclab class export``: what the class measured, pooled, as the instructor's page shows it.

Reads the class store (``--database URL``, else ``SPECLAB_DATABASE_URL``, else the SQLite file in the data
folder) and prints the pooled results per server and category, the own-prompt board, quiz scores per
topic and the queue now: as tables, or as one JSON object with ``--json``. Learners appear by display name
or anonymous label only.
"""

from __future__ import annotations

import argparse
import json
import sys

import pandas as pd

from core.store.class_report import read_class_export
from core.store.class_store import ClassStore
from core.store.database import StoreUnavailable

SECTIONS = (
    ("results", "Class results per server, category and concurrency (means of what learners measured)"),
    ("prompt_board", "Own prompts ranked by measured accept length"),
    ("quiz", "Quiz answers per topic"),
    ("queue", "The queue now"),
)


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "class", help="the class store: export what the class measured (instructor)", description=__doc__
    )
    actions = parser.add_subparsers(
        title="actions", dest="action", metavar="ACTION", parser_class=type(parser)
    )
    export = actions.add_parser("export", help="print the pooled class results (tables, or JSON with --json)")
    export.add_argument(
        "--database", metavar="URL", help="database URL (default: SPECLAB_DATABASE_URL or SQLite)"
    )
    export.add_argument("--json", action="store_true", help="print one JSON object")
    export.set_defaults(func=run)
    parser.set_defaults(func=lambda args: _usage(parser))


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_usage(sys.stderr)
    print("speclab class: choose an action, e.g. speclab class export --json", file=sys.stderr)
    return 2


def run(args: argparse.Namespace) -> int:
    store = ClassStore(args.database)
    try:
        export = read_class_export(store)
    except StoreUnavailable as error:
        print(f"speclab class export: {error}", file=sys.stderr)
        return 2
    finally:
        store.dispose()
    if args.json:
        print(json.dumps(export, indent=2, allow_nan=False))
        return 0
    for name, title in SECTIONS:
        rows = export[name]
        print(f"== {title}")
        print(pd.DataFrame(rows).to_string(index=False) if rows else "(nothing yet)")
        print()
    return 0
