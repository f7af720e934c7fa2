#!/usr/bin/env bash
# Print the path of a Python >= 3.12 interpreter that can create virtual environments.
#
# Order: $PYTHON (if set, it must qualify), then python3.12 / python3.13 / python3.14 / python3 on PATH,
# then pyenv installs ($PYENV_ROOT/versions/*, $HOME/.pyenv/versions/*), then /usr/bin, /usr/local/bin.
# Candidates are run to read their real version (pyenv shims for an inactive version fail and are skipped).
# Among those that qualify, the lowest minor version wins (3.12 before 3.13: requirements.lock is made for 3.12).
set -uo pipefail

MIN_MINOR=12
PROBE='import sys, venv, ensurepip; v = sys.version_info; print(v[0], v[1], v[2], sys.executable)'

probe() {
    # Prints "major minor micro executable" when $1 runs and has venv + ensurepip; nothing otherwise.
    "$1" -c "$PROBE" 2>/dev/null
}

qualifies() {
    local major=$1 minor=$2
    [ "$major" -eq 3 ] && [ "$minor" -ge "$MIN_MINOR" ]
}

if [ -n "${PYTHON:-}" ]; then
    out=$(probe "$PYTHON") || out=""
    if [ -z "$out" ]; then
        echo "find-python: PYTHON=$PYTHON does not run, or lacks the venv/ensurepip modules" >&2
        echo "  (on Debian/Ubuntu: apt-get install python3.12-venv)" >&2
        exit 1
    fi
    read -r major minor _ exe <<<"$out"
    if ! qualifies "$major" "$minor"; then
        echo "find-python: PYTHON=$PYTHON is Python $major.$minor; Databourse needs Python >= 3.$MIN_MINOR" >&2
        exit 1
    fi
    echo "$PYTHON"
    exit 0
fi

candidates=()
for name in python3.12 python3.13 python3.14 python3; do
    if path=$(command -v "$name" 2>/dev/null); then candidates+=("$path"); fi
done
for root in "${PYENV_ROOT:-}" "$HOME/.pyenv"; do
    [ -n "$root" ] || continue
    for exe in "$root"/versions/3.*/bin/python3; do
        [ -x "$exe" ] && candidates+=("$exe")
    done
done
for exe in /usr/bin/python3.1[2-9] /usr/local/bin/python3.1[2-9]; do
    [ -x "$exe" ] && candidates+=("$exe")
done

best="" best_key=""
rejected=()
for cand in "${candidates[@]}"; do
    out=$(probe "$cand") || out=""
    if [ -z "$out" ]; then continue; fi
    read -r major minor micro exe <<<"$out"
    if ! qualifies "$major" "$minor"; then
        rejected+=("$cand ($major.$minor.$micro)")
        continue
    fi
    # Lowest minor first, then highest micro: key = minor*1000 + (999 - micro).
    key=$((minor * 1000 + 999 - micro))
    if [ -z "$best_key" ] || [ "$key" -lt "$best_key" ]; then
        best=$exe best_key=$key
    fi
done

if [ -n "$best" ]; then
    echo "$best"
    exit 0
fi

{
    echo "find-python: no Python >= 3.$MIN_MINOR with the venv module was found."
    if [ ${#rejected[@]} -gt 0 ]; then
        echo "  Too old: ${rejected[*]}"
    fi
    echo "  Install one, for example:"
    echo "    apt-get install python3.12 python3.12-venv      (Debian 13 / Ubuntu 24.04)"
    echo "    pyenv install 3.12                              (any distribution, with pyenv)"
    echo "  or point at one explicitly: make PYTHON=/path/to/python3.12 <target>"
} >&2
exit 1
