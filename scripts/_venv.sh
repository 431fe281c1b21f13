# Sourced by scripts/demo and scripts/test: make .venv (once) and install edgegate into it.
# Usage: EXTRAS=test . scripts/_venv.sh   (sh's "." takes no arguments)
set -eu
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    if ! "$PY" -m venv .venv 2>/dev/null; then
        echo "python3 -m venv failed: on Debian install it with: sudo apt-get install -y python3-venv" >&2
        exit 1
    fi
    .venv/bin/python -m pip install -q --upgrade pip
fi
spec="."
if [ -n "${EXTRAS:-}" ]; then spec=".[$EXTRAS]"; fi
stamp=".venv/.installed-$(echo "$spec" | tr -c 'a-z' _)"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    .venv/bin/python -m pip install -q -e "$spec"
    touch "$stamp"
fi
