#!/usr/bin/env bash
# Run a class on this machine with several app processes: a PostgreSQL (throwaway unless --database URL),
# N `streamlit run app.py` replicas and HAProxy in front (sticky sessions, websockets). Ctrl-C stops all.
#   bash scripts/class_replicas.sh --replicas 2 [--port 8501] [--database postgresql://...] [--bind 0.0.0.0]
# As root, installs what is missing with apt-get: haproxy, and postgresql when no --database is given.
source "$(dirname "$0")/_env.sh"
ensure_venv "postgres"
cd "$ROOT"
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    missing=()
    command -v haproxy >/dev/null 2>&1 || [ -x /usr/sbin/haproxy ] || missing+=(haproxy)
    case " $* " in
        *" --database "* | *" --database="*) ;;
        *) ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql) ;;
    esac
    if [ "${#missing[@]}" -gt 0 ]; then
        echo "speclab: installing ${missing[*]} (apt-get)" >&2
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
        # Debian starts its own services on install; this script runs its own cluster and proxy instead.
        for service in haproxy postgresql; do
            command -v service >/dev/null 2>&1 && service "$service" stop >/dev/null 2>&1 || true
        done
    fi
fi
exec "$VENV/bin/python" benchmarks/class_replicas.py "$@"
