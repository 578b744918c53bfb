"""A database that goes away: the client gets a clear 503 (JSON under /api/), nothing is half-saved,
and a retry succeeds once the database is back. Real HTTP against the live server, like users.

On PostgreSQL the request's own connection is terminated (pg_terminate_backend) while it is in the
middle of saving: after its annotation row is written, while it waits to write the audit event.
On SQLite there is nothing to terminate; the equivalent outage is a writer holding the database
past the busy timeout ("database is locked").
"""

import contextlib
import threading
import time

import pytest
import requests
from django.db import connection, connections

from labeling.models import Annotation, AnnotationEvent

UNAVAILABLE = "The database is unavailable; try again."


def _box(label_class):
    return {"label_class": label_class.pk, "kind": "box", "geometry": {"x": 1, "y": 2, "w": 10, "h": 20}}


@pytest.fixture
def token_headers(annotator):
    from rest_framework.authtoken.models import Token

    return {"Authorization": f"Token {Token.objects.get_or_create(user=annotator)[0].key}"}


def _raw_connection():
    """A connection of our own to the test database, outside Django's (as a second client would be)."""
    raw = connection.get_new_connection(connection.get_connection_params())
    if connection.vendor == "postgresql":
        raw.autocommit = True
    return raw


def _post_while_postgresql_terminates_it(url, body, headers):
    """POST; once the request waits mid-save (its annotation written, its event not), kill its connection."""
    blocker, killer = _raw_connection(), _raw_connection()
    try:
        locker = blocker.cursor()
        locker.execute("BEGIN")
        # Reads stay allowed; the request's INSERT of its audit event waits here, inside its transaction.
        locker.execute("LOCK TABLE labeling_annotationevent IN EXCLUSIVE MODE")
        result = {}
        thread = threading.Thread(target=lambda: result.update(response=requests.post(url, json=body, headers=headers,
                                                                                      timeout=120)))
        thread.start()
        cursor = killer.cursor()
        deadline = time.monotonic() + 60  # only so that a broken test cannot hang the suite
        terminated = 0
        while not terminated:
            assert time.monotonic() < deadline, "the request never reached the audit event insert"
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid() AND wait_event_type = 'Lock' "
                "AND query LIKE 'INSERT INTO \"labeling_annotationevent\"%%'"
            )
            terminated = len(cursor.fetchall())
            time.sleep(0.05)
        locker.execute("ROLLBACK")
        thread.join(timeout=120)
        return result["response"]
    finally:
        blocker.close()
        killer.close()


def _post_while_sqlite_is_locked(url, body, headers):
    """POST while another connection holds SQLite's write lock past the request's busy timeout."""
    options = connections.settings["default"].setdefault("OPTIONS", {})
    timeout = options.get("timeout")
    options["timeout"] = 0.5  # the live server opens a connection per request: it gets this timeout
    blocker = _raw_connection()
    try:
        blocker.execute("BEGIN IMMEDIATE")
        return requests.post(url, json=body, headers=headers, timeout=120)
    finally:
        blocker.rollback()
        blocker.close()
        if timeout is None:
            options.pop("timeout")
        else:
            options["timeout"] = timeout


def test_a_save_cut_off_from_the_database_is_a_503_and_the_retry_succeeds(live_server, image, classes, token_headers):
    url = f"{live_server.url}/api/images/{image.pk}/annotations/"
    body = _box(classes[0])
    if connection.vendor == "postgresql":
        response = _post_while_postgresql_terminates_it(url, body, token_headers)
    else:
        response = _post_while_sqlite_is_locked(url, body, token_headers)

    assert response.status_code == 503, response.text
    assert response.headers["Content-Type"] == "application/json"
    assert response.json()["detail"] == UNAVAILABLE
    assert int(response.headers["Retry-After"]) > 0
    # Nothing half-written: the annotation row the request had inserted went with its transaction.
    assert not Annotation.objects.exists()
    assert not AnnotationEvent.objects.exists()

    retry = requests.post(url, json=body, headers=token_headers, timeout=60)
    assert retry.status_code == 201, retry.text
    assert Annotation.objects.count() == 1
    assert AnnotationEvent.objects.filter(annotation_id=retry.json()["id"], action="create").count() == 1


@contextlib.contextmanager
def _database_down():
    """New connections (the live server opens one per request) go to a database that is not there."""
    settings_dict = connections.settings["default"]
    saved = dict(settings_dict)
    if settings_dict["ENGINE"].endswith("sqlite3"):
        settings_dict["NAME"] = "/nonexistent-directory/annotator.sqlite3"
    else:
        settings_dict.update(HOST="127.0.0.1", PORT=1)  # nothing listens there: connection refused
    try:
        yield
    finally:
        settings_dict.clear()
        settings_dict.update(saved)


def test_with_the_database_down_the_api_answers_json_503_and_pages_html_503(live_server, token_headers, manager,
                                                                             client):
    client.force_login(manager)
    browser = requests.Session()
    browser.cookies.set("sessionid", client.cookies["sessionid"].value)

    with _database_down():
        api = requests.get(f"{live_server.url}/api/projects/", headers=token_headers, timeout=60)
        page = browser.get(f"{live_server.url}/", timeout=60)
        health = requests.get(f"{live_server.url}/health", timeout=60)

    assert api.status_code == 503 and api.json() == {"detail": UNAVAILABLE, "errors": []}
    assert page.status_code == 503 and "text/html" in page.headers["Content-Type"]
    assert "The database is unavailable" in page.text
    assert health.status_code == 503
    assert health.json()["database"] == "unavailable"

    # Back up: the same requests succeed.
    assert requests.get(f"{live_server.url}/api/projects/", headers=token_headers, timeout=60).status_code == 200
    assert browser.get(f"{live_server.url}/", timeout=60).status_code == 200
    assert requests.get(f"{live_server.url}/health", timeout=60).json()["database"] == "ok"


def test_outages_outside_views_are_503_too_and_api_errors_stay_json(rf):
    """handler500 sees what no view caught (a session save, a middleware): outages become 503, API errors JSON."""
    from django.db import OperationalError

    from annotator.middleware import server_error

    def handled(path, exc):
        try:
            raise exc
        except Exception:
            return server_error(rf.get(path))

    outage = handled("/api/projects/", OperationalError("server closed the connection unexpectedly"))
    assert outage.status_code == 503 and outage["Retry-After"] == "5"
    assert outage["Content-Type"] == "application/json"
    page = handled("/projects/1/", OperationalError("server closed the connection unexpectedly"))
    assert page.status_code == 503 and b"The database is unavailable" in page.content
    bug = handled("/api/projects/", ZeroDivisionError())
    assert bug.status_code == 500 and bug["Content-Type"] == "application/json"


class SyncWorker:
    """One thread serving requests one after another through Django's WSGI handler and keeping its
    database connection between them (CONN_MAX_AGE), as a gunicorn sync worker does in production.
    """

    def __init__(self):
        import queue

        from django.core.handlers.wsgi import WSGIHandler

        self.handler, self.jobs = WSGIHandler(), queue.Queue()
        self.backend_pid = None  # PostgreSQL: the server process of the connection kept after the last request
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while (job := self.jobs.get()) is not None:
            environ, result, done = job
            try:
                started = {}
                response = self.handler(environ, lambda status, headers: started.update(status=status,
                                                                                        headers=dict(headers)))
                try:
                    body = b"".join(response)
                finally:
                    response.close()  # as WSGI servers do: Django's request_finished, which drops a broken connection
                result.update(status=int(started["status"].split()[0]), headers=started["headers"], body=body)
            finally:
                kept = connections["default"].connection
                self.backend_pid = kept.info.backend_pid if kept is not None and connection.vendor == "postgresql" \
                    else None
                done.set()
        connections.close_all()

    def submit(self, method, path, headers, body=None):
        import io
        import json

        data = json.dumps(body).encode() if body is not None else b""
        environ = {"REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": "", "SERVER_NAME": "localhost",
                   "SERVER_PORT": "80", "HTTP_HOST": "localhost", "REMOTE_ADDR": "127.0.0.1",
                   "CONTENT_TYPE": "application/json", "CONTENT_LENGTH": str(len(data)), "wsgi.input": io.BytesIO(data),
                   "wsgi.url_scheme": "http", "wsgi.errors": io.StringIO(), "wsgi.multithread": False,
                   "wsgi.multiprocess": True, "wsgi.run_once": False, "wsgi.version": (1, 0),
                   **{f"HTTP_{k.upper()}": v for k, v in headers.items()}}
        result, done = {}, threading.Event()
        self.jobs.put((environ, result, done))
        return result, done

    def request(self, method, path, headers, body=None):
        result, done = self.submit(method, path, headers, body)
        assert done.wait(120), "the worker did not answer"
        return result

    def stop(self):
        self.jobs.put(None)
        self.thread.join(timeout=30)


def _terminate(pid):
    killer = _raw_connection()
    try:
        cursor = killer.cursor()
        cursor.execute("SELECT pg_terminate_backend(%s, 60000)", [pid])  # returns once the process is gone
        assert cursor.fetchone()[0]
    finally:
        killer.close()


def test_a_worker_keeping_its_connection_answers_503_once_and_then_reconnects(transactional_db, image, classes,
                                                                               token_headers):
    import json

    options = connections.settings["default"].setdefault("OPTIONS", {})
    saved_timeout = options.get("timeout")
    if connection.vendor == "sqlite":
        options["timeout"] = 0.5  # the worker's connection, opened below, waits this long for a lock
    worker = SyncWorker()
    path = f"/api/images/{image.pk}/annotations/"
    try:
        assert worker.request("GET", path, token_headers)["status"] == 200
        if connection.vendor == "postgresql":
            # Killed while idle between requests: the next request's health check reconnects, no error at all.
            first = worker.backend_pid
            _terminate(first)
            assert worker.request("GET", path, token_headers)["status"] == 200
            assert worker.backend_pid not in (None, first)

            # Killed mid-save, waiting to write the audit event.
            blocker = _raw_connection()
            locker = blocker.cursor()
            locker.execute("BEGIN")
            locker.execute("LOCK TABLE labeling_annotationevent IN EXCLUSIVE MODE")
            result, done = worker.submit("POST", path, token_headers, _box(classes[0]))
            deadline = time.monotonic() + 60  # only so that a broken test cannot hang the suite
            killed = worker.backend_pid
            while True:
                assert time.monotonic() < deadline, "the request never reached the audit event insert"
                locker.execute("SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", [killed])
                if (locker.fetchone() or [None])[0] == "Lock":
                    break
                time.sleep(0.05)
            _terminate(killed)
            assert done.wait(120)
            locker.execute("ROLLBACK")
            blocker.close()
            # The broken connection was dropped (Django reconnects as the failed transaction ends): the
            # connection kept for the next request is a new one.
            assert worker.backend_pid != killed
        else:
            blocker = _raw_connection()
            blocker.execute("BEGIN IMMEDIATE")
            result = worker.request("POST", path, token_headers, _box(classes[0]))
            blocker.rollback()
            blocker.close()

        assert result["status"] == 503
        assert json.loads(result["body"]) == {"detail": UNAVAILABLE, "errors": []}
        assert not Annotation.objects.exists()

        retry = worker.request("POST", path, token_headers, _box(classes[0]))
        assert retry["status"] == 201, retry["body"]
        assert Annotation.objects.count() == 1 and AnnotationEvent.objects.count() == 1
    finally:
        worker.stop()
        if saved_timeout is None:
            options.pop("timeout", None)
        else:
            options["timeout"] = saved_timeout
