#!/usr/bin/env bash
# Build a separate virtual environment with SGLang's real parser (sglang 0.5.23 --no-deps, CPU torch and
# the few packages `import sglang.srt.server_args` needs) and print its python. The launch-command tests
# run every generated command through that parser when SPECLAB_SGLANG_PYTHON points at it:
#   SPECLAB_SGLANG_PYTHON="$(bash scripts/sglang_parser_env.sh)" bash scripts/test.sh tests/unit/serving
# About 10 minutes and 2.3 GB the first time (torch is most of it); later runs reuse the environment.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PARSER_VENV="${SPECLAB_SGLANG_VENV:-$ROOT/.venv-sglang-parser}"
REQUIREMENTS="$ROOT/scripts/sglang-parser-requirements.txt"
TORCH="torch==2.13.0"

stamp="$PARSER_VENV/.speclab-parser-installed"
digest="$(sha256sum "$REQUIREMENTS" | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$digest" ]; then
    echo "speclab: building SGLang's parser environment in $PARSER_VENV (several minutes)" >&2
    "${PYTHON:-python3}" -m venv "$PARSER_VENV"
    "$PARSER_VENV/bin/python" -m pip install --quiet "$TORCH" >&2
    grep -v '^sglang==' "$REQUIREMENTS" | grep -v '^#' >"$PARSER_VENV/deps.txt"
    "$PARSER_VENV/bin/python" -m pip install --quiet -r "$PARSER_VENV/deps.txt" >&2
    "$PARSER_VENV/bin/python" -m pip install --quiet --no-deps "$(grep '^sglang==' "$REQUIREMENTS")" >&2
    "$PARSER_VENV/bin/python" -c "import sglang.srt.server_args" >&2
    echo "$digest" >"$stamp"
fi
echo "$PARSER_VENV/bin/python"
