#!/usr/bin/env bash
# Run every Switchboard benchmark from a clean clone: bash bench/run.sh [python -m bench options]
# Installs what it needs: wrk and valgrind (Debian packages) and the project into .venv
# (unless a virtualenv is already active). Traffic goes to 127.0.0.1 only; each run is bounded
# in time.
set -euo pipefail
cd "$(dirname "$0")/.."

# wrk drives the throughput runs; valgrind (callgrind) counts instructions per request.
missing=""
command -v wrk >/dev/null 2>&1 || missing="$missing wrk"
command -v callgrind_control >/dev/null 2>&1 || missing="$missing valgrind"
if [ -n "$missing" ]; then
    echo "bench: installing$missing" >&2
    SUDO=""
    [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq
    # shellcheck disable=SC2086
    $SUDO apt-get install -y -qq $missing >/dev/null
fi

if [ -z "${VIRTUAL_ENV:-}" ]; then
    [ -x .venv/bin/python ] || python3 -m venv .venv
    # shellcheck disable=SC1091
    . .venv/bin/activate
fi
python -m pip install -q -e . >/dev/null

exec python -m bench "$@"
