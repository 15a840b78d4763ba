#!/usr/bin/env bash
# Install the test tools (first run only) and run every check: lint, format, unit, AppTest and browser tests.
# Extra arguments go to pytest, e.g. bash scripts/test.sh -k simulator
source "$(dirname "$0")/_env.sh"
# train: torch and tokenizers, so `speclab train-models --quick` and the tokenizer check run too
ensure_venv "test,train"
cd "$ROOT"

# Browser tests drive Debian's chromium (never a downloaded browser). Install it when we can.
if [ ! -x /usr/bin/chromium ]; then
    if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
        echo "speclab: installing chromium for the browser tests (apt-get)" >&2
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
    else
        echo "speclab: WARNING /usr/bin/chromium is missing and apt is not available as root:" \
            "browser tests will be SKIPPED (install Debian's chromium package to run them)" >&2
    fi
fi

# The class store's tests run against a real PostgreSQL too: tests/unit/store/conftest.py starts a throwaway
# cluster from Debian's postgresql binaries on a loopback port (or uses SPECLAB_TEST_DATABASE_URL).
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && [ -z "${SPECLAB_TEST_DATABASE_URL:-}" ]; then
    if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
        echo "speclab: installing postgresql for the class store tests (apt-get)" >&2
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
        # Debian's package starts its own cluster; the tests use a throwaway one of their own instead.
        if command -v pg_lsclusters >/dev/null 2>&1; then
            pg_lsclusters -h 2>/dev/null | while read -r version name _; do
                pg_ctlcluster "$version" "$name" stop 2>/dev/null || true
            done
        fi
    else
        echo "speclab: WARNING PostgreSQL is not installed and apt is not available as root:" \
            "PostgreSQL tests of the class store will be SKIPPED (install Debian's postgresql package," \
            "or set SPECLAB_TEST_DATABASE_URL)" >&2
    fi
fi

# The scale-out test (tests/load) puts HAProxy in front of two replicas, as scripts/class_replicas.sh does.
if ! command -v haproxy >/dev/null 2>&1 && [ ! -x /usr/sbin/haproxy ]; then
    if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
        echo "speclab: installing haproxy for the scale-out test (apt-get)" >&2
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq haproxy >/dev/null
        # The package's own service is not used: the test starts its own proxy on free ports.
        command -v service >/dev/null 2>&1 && service haproxy stop >/dev/null 2>&1 || true
    else
        echo "speclab: WARNING haproxy is missing and apt is not available as root:" \
            "the two-replica scale-out test will be SKIPPED (install Debian's haproxy package)" >&2
    fi
fi

# SGLang's own parser for the launch-command tests: a separate environment (sglang 0.5.23 --no-deps, CPU
# torch), about 10 minutes and 2.3 GB the first time, reused afterwards. On by default in CI (CI=true),
# opt-in elsewhere with SPECLAB_SGLANG_PARSER=1. If it cannot be built, the tests that need it are skipped
# with the reason and the others check against the flag table extracted from the release wheel.
if [ "${SPECLAB_SGLANG_PARSER:-${CI:+1}}" = "1" ] && [ -z "${SPECLAB_SGLANG_PYTHON:-}" ]; then
    if parser_python="$(bash "$ROOT/scripts/sglang_parser_env.sh")"; then
        export SPECLAB_SGLANG_PYTHON="$parser_python"
    else
        echo "speclab: WARNING could not build SGLang's parser environment: real-parser tests will be SKIPPED" >&2
    fi
fi

echo "speclab: ruff check" >&2
"$VENV/bin/ruff" check .
echo "speclab: ruff format --check" >&2
"$VENV/bin/ruff" format --check .
echo "speclab: pytest" >&2
exec "$VENV/bin/python" -m pytest "$@"
