#!/usr/bin/env bash
# `make run`: local settings on SQLite (var/db.sqlite3), migrate, seed the demo data, localstripe in the
# background on 127.0.0.1:8420, then Django's development server on 127.0.0.1:$PORT (8000) in the
# foreground. localstripe is stopped when the server exits (if this script started it).
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"
VENV=${VENV:-.venv}
PORT=${PORT:-8000}
export DJANGO_SETTINGS_MODULE=config.settings.local
mkdir -p var

export SERVICES_STATE_FILE="$REPO/var/services/dev-$$.started"
cleanup() {
    trap '' PIPE # stopping must survive a closed output (a pipe's reader killed by the same Ctrl-C)
    scripts/services.sh stop || true
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Fake Stripe first (seeding may talk to it); its data is kept next to the SQLite database.
LOCALSTRIPE_STATE_FILE="$REPO/var/services/localstripe.pickle" scripts/services.sh start localstripe
export STRIPE_API_BASE=${STRIPE_API_BASE:-http://127.0.0.1:${STRIPE_PORT:-8420}}
# localstripe sends its events, signed with the local secret, to the app's webhook (the pay page also polls Stripe).
curl -fsS -o /dev/null -X POST "$STRIPE_API_BASE/_config/webhooks/databourse" \
    -d "url=http://127.0.0.1:$PORT/webhooks/stripe/" -d "secret=${STRIPE_WEBHOOK_SECRET:-whsec_databourse_local}" \
    || echo "run: could not register the webhook with localstripe; payments are confirmed by polling instead." >&2

"$VENV/bin/python" manage.py migrate --noinput
"$VENV/bin/python" manage.py seed_demo

if [ -n "${CELERY_BROKER_URL:-}" ]; then
    echo "run: CELERY_BROKER_URL is set, so tasks go to the broker: start a worker with 'make worker'."
else
    echo "run: no CELERY_BROKER_URL: Celery tasks run eagerly inside the web process."
fi
echo "run: http://127.0.0.1:$PORT/  (Ctrl-C stops the server and localstripe)"
# Not exec: the EXIT trap must run after the server stops.
"$VENV/bin/python" manage.py runserver "127.0.0.1:$PORT"
