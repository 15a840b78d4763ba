# Shared by scripts/start.sh and scripts/test.sh: make .venv with Python >= 3.11 and install the project.
# Usage: source scripts/_env.sh; ensure_venv "EXTRAS"   (EXTRAS empty or e.g. "test" or "test,train")
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${SPECLAB_VENV:-$ROOT/.venv}"

find_python() {
    for candidate in "${PYTHON:-}" python3.11 python3.12 python3.13 python3; do
        [ -n "$candidate" ] || continue
        if command -v "$candidate" >/dev/null 2>&1 &&
            "$candidate" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
            echo "$candidate"
            return 0
        fi
    done
    echo "speclab: Python 3.11 or newer is needed (set PYTHON=/path/to/python3.11)" >&2
    return 1
}

ensure_venv() {
    local extras="$1"
    if [ ! -x "$VENV/bin/python" ]; then
        local python
        python="$(find_python)"
        echo "speclab: creating virtual environment in $VENV" >&2
        "$python" -m venv "$VENV"
    fi
    # Reinstall only when pyproject.toml changed since the last install with these extras.
    local stamp="$VENV/.speclab-installed${extras:+-$extras}"
    local digest
    digest="$(sha256sum "$ROOT/pyproject.toml" | cut -d' ' -f1)"
    if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$digest" ]; then
        local complete=1  # 0: an optional part failed, so the next run tries again
        echo "speclab: installing the project${extras:+ with extras [$extras]}" >&2
        "$VENV/bin/python" -m pip install --quiet --upgrade pip
        if [[ ",$extras," == *",train,"* ]] && ! "$VENV/bin/python" -c "import torch" 2>/dev/null; then
            # torch first, pinned: the extra's plain `torch>=2.1` would let pip pick the newest release,
            # on Linux a CUDA build of several GB. SPECLAB_TORCH overrides it, e.g.
            # SPECLAB_TORCH="torch --index-url https://download.pytorch.org/whl/cpu"
            # shellcheck disable=SC2086
            if ! "$VENV/bin/python" -m pip install --quiet ${SPECLAB_TORCH:-torch==2.13.0}; then
                echo "speclab: WARNING could not install ${SPECLAB_TORCH:-torch==2.13.0}: the training" \
                    "tests will be SKIPPED (set SPECLAB_TORCH to a torch this machine can install)" >&2
                extras="$(echo ",$extras," | sed 's/,train,/,/; s/^,//; s/,$//')"
                complete=0
            fi
        fi
        "$VENV/bin/python" -m pip install --quiet -e "$ROOT${extras:+[$extras]}"
        if [ "$complete" = 1 ]; then echo "$digest" >"$stamp"; fi
    fi
}
