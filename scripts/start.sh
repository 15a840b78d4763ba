#!/usr/bin/env bash
# Install the app (first run only) and start it: bash scripts/start.sh [extra streamlit options]
source "$(dirname "$0")/_env.sh"
ensure_venv ""
cd "$ROOT"
exec "$VENV/bin/python" -m streamlit run app.py "$@"
