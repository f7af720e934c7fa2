#!/usr/bin/env bash
# Make sure $VENV (default .venv) exists with Python >= 3.12 and holds exactly what requirements.lock pins.
# The venv is (re)created when it is missing, broken or too old; `pip install -r requirements.lock` runs
# again only when the lock file's content changed since the last successful install (stamp inside the venv).
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"
VENV=${VENV:-.venv}
LOCK=requirements.lock
STAMP="$VENV/.requirements.lock.sha256"

if ! "$VENV/bin/python" -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then
    py=$(scripts/find-python.sh)
    echo "bootstrap: creating $VENV with $py ($("$py" -V 2>&1))"
    rm -rf "$VENV"
    "$py" -m venv "$VENV"
fi

want=$(sha256sum "$LOCK" | cut -d' ' -f1)
have=$(cat "$STAMP" 2>/dev/null || true)
if [ "$want" != "$have" ]; then
    echo "bootstrap: installing $LOCK into $VENV"
    # (this machine's pip config names local mirror folders that may be absent: drop those warnings)
    "$VENV/bin/python" -m pip install --disable-pip-version-check --no-input -q -r "$LOCK" 2>&1 |
        { grep -v "is ignored: it is neither a file nor a directory" || true; }
    echo "$want" >"$STAMP"
fi
