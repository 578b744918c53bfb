#!/usr/bin/env bash
# Start the product on this machine: migrate, seed the demo, then a Celery worker and gunicorn.
set -euo pipefail
cd "$(dirname "$0")/.."
HOST=${1:-127.0.0.1}
PORT=${2:-8000}
PY=.venv/bin/python

$PY manage.py migrate --no-input -v0
$PY manage.py seed_demo
[ "${ANNOTATOR_MODE:-embedded}" = production ] && $PY manage.py collectstatic --no-input -v0

LOGS="${ANNOTATOR_VAR_DIR:-var}/log"
mkdir -p "$LOGS"
.venv/bin/celery -A annotator worker -l info --concurrency "${CELERY_CONCURRENCY:-2}" >"$LOGS/worker.log" 2>&1 &
WORKER=$!
trap 'kill $WORKER 2>/dev/null; wait $WORKER 2>/dev/null' EXIT INT TERM

echo
echo "  Annotator is running at http://$HOST:$PORT/  (sign in with the admin user above)"
echo "  Worker log: $LOGS/worker.log   Stop with Ctrl+C."
echo
.venv/bin/gunicorn annotator.wsgi --bind "$HOST:$PORT" --workers "${WEB_WORKERS:-3}" --timeout 120 \
  --access-logfile - --log-level info
