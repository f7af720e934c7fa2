#!/usr/bin/env bash
# Run a command with PostgreSQL, Redis and localstripe on loopback and their URLs exported
# (DATABASE_URL, CELERY_BROKER_URL, CELERY_RESULT_BACKEND, STRIPE_API_BASE; see scripts/services.sh env).
# Services that are not already up are started here and stopped again afterwards, whatever the command
# returns; services that were already up are left alone. Exits with the command's exit code.
#
#   scripts/with-services.sh .venv/bin/python -m pytest -k foo      (what `make test` runs)
set -uo pipefail

[ $# -gt 0 ] || {
    echo "usage: $0 COMMAND [ARG...]" >&2
    exit 2
}
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"

# Only the services this run starts are recorded here, and only those are stopped at the end.
export SERVICES_STATE_FILE="$REPO/var/services/run-$$.started"
cleanup() {
    trap '' PIPE # stopping must survive a closed output (a pipe's reader killed by the same Ctrl-C)
    scripts/services.sh stop || echo "with-services: warning: stopping services failed" >&2
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

scripts/services.sh start postgres redis localstripe || exit 1
eval "$(scripts/services.sh env)"
# The test settings come from pyproject.toml / the command itself; one left in the shell would win.
unset DJANGO_SETTINGS_MODULE

echo "with-services: DATABASE_URL=$DATABASE_URL CELERY_BROKER_URL=$CELERY_BROKER_URL STRIPE_API_BASE=$STRIPE_API_BASE"
"$@"
rc=$?
echo "with-services: '$1' exited with $rc"
exit $rc
