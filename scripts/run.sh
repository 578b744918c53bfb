#!/usr/bin/env bash
# Start the product on this machine: migrate, seed the demo, then a Celery worker and gunicorn.
# Ctrl+C (or TERM) stops everything it started within 10 s: TERM to gunicorn, a cold shutdown
# to the worker (its running job is taken up again through its lease), then KILL for anything
# still alive after STOP_GRACE_SECONDS.
set -euo pipefail
cd "$(dirname "$0")/.."
HOST=${1:-127.0.0.1}
PORT=${2:-8000}
PY=.venv/bin/python
GRACE=${STOP_GRACE_SECONDS:-7}

$PY manage.py migrate --no-input -v0
$PY manage.py seed_demo
[ "${ANNOTATOR_MODE:-embedded}" = production ] && $PY manage.py collectstatic --no-input -v0

LOGS="${ANNOTATOR_VAR_DIR:-var}/log"
mkdir -p "$LOGS"
PIDS=()

alive() {
  local pid
  for pid in "${PIDS[@]}"; do if kill -0 "$pid" 2>/dev/null; then return 0; fi; done
  return 1
}

stop() {
  trap - INT TERM EXIT
  echo
  echo "  Stopping the web server and the worker ..."
  [ -z "${WEB:-}" ] || kill -TERM "$WEB" 2>/dev/null || true
  # QUIT is Celery's cold shutdown: it does not wait for running tasks ("Warm shutdown" does).
  [ -z "${WORKER:-}" ] || kill -QUIT "$WORKER" 2>/dev/null || true
  local waited=0
  while alive && [ "$waited" -lt $((GRACE * 10)) ]; do sleep 0.1; waited=$((waited + 1)); done
  local pid
  for pid in "${PIDS[@]}"; do
    # Children first (the worker's pool, gunicorn's workers), by parent id: then the parents.
    pkill -KILL -P "$pid" 2>/dev/null || true
    kill -KILL "$pid" 2>/dev/null || true
  done
  wait 2>/dev/null || true
}
trap stop INT TERM EXIT

.venv/bin/celery -A annotator worker -l info --concurrency "${CELERY_CONCURRENCY:-2}" >"$LOGS/worker.log" 2>&1 &
WORKER=$!
PIDS+=("$WORKER")

echo
echo "  Annotator is running at http://$HOST:$PORT/  (sign in with the admin user above)"
echo "  Worker log: $LOGS/worker.log   Stop with Ctrl+C."
echo
# Threads (gthread): open pages hold a model-events stream (mlassist/events.py); at most MAX_WAITERS of a
# process's threads wait, so the others always answer saves. With one-request sync workers, a few open
# tabs would hold every worker.
.venv/bin/gunicorn annotator.wsgi --bind "$HOST:$PORT" --workers "${WEB_WORKERS:-3}" --threads "${WEB_THREADS:-4}" \
  --timeout 120 --graceful-timeout 5 --access-logfile - --log-level info &
WEB=$!
PIDS+=("$WEB")
# Until one of them ends (or a signal runs stop); then stop the other too.
wait -n || true
