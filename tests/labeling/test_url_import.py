"""Images from a list of URLs: the list, the address checks, the downloads, the job and the command.

Files are served by a local http.server on 127.0.0.1; nothing here connects anywhere else (a
guard fixture makes any other connection fail the test).
"""

import http.server
import shutil
import ssl
import subprocess
import threading
import time
from io import StringIO

import pytest
import urllib3.util.connection
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command

from labeling.models import Image, Job, UrlImportLine
from labeling.services import url_fetch as fetch
from labeling.services import url_import as svc

from ..factories import image_bytes

LOOPBACK = ["127.0.0.1/32"]

A_PNG = image_bytes(64, 48, "PNG", (200, 30, 30))
B_JPG = image_bytes(40, 30, "JPEG", (30, 200, 30))
C_PNG = image_bytes(20, 10, "PNG", (30, 30, 200))
BIG_PNG = bytes(range(256)) * 40  # only its size matters: the cap refuses it before any decoding


class Handler(http.server.BaseHTTPRequestHandler):
    routes = {
        "/a.png": ("image/png", A_PNG),
        "/b.jpg": ("image/jpeg", B_JPG),
        "/img/c.png": ("image/png", C_PNG),
        "/noext": ("image/png", C_PNG),
        "/notimage.txt": ("text/plain", b"hello, I am not an image\n"),
        "/caf%C3%A9%20au%20lait.png": ("image/png", C_PNG),
        "/..%2F..%2F..%2Ftmp%2Fx.png": ("image/png", A_PNG),
        "/%2Fetc%2Fcron.d%2Fy.png": ("image/png", B_JPG),
    }

    def log_message(self, *args):
        pass

    def _send(self, status, body=b"", content_type="application/octet-stream", headers=(), length=True):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        for key, value in headers:
            self.send_header(key, value)
        if length:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        path = self.path.split("?", 1)[0]
        if path in self.routes:
            content_type, body = self.routes[path]
            return self._send(200, body, content_type)
        if path == "/to-a":
            return self._send(302, headers=[("Location", "/a.png")])
        if path == "/to-metadata":
            return self._send(302, headers=[("Location", "http://169.254.169.254/latest/meta-data/")])
        if path == "/to-ftp":
            return self._send(301, headers=[("Location", "ftp://example.invalid/x.png")])
        if path == "/loop":
            return self._send(302, headers=[("Location", "/loop")])
        if path == "/big.png":
            return self._send(200, BIG_PNG, "image/png")
        if path == "/big-unsized.png":  # no Content-Length: the cap must stop the reading itself
            self.close_connection = True
            return self._send(200, BIG_PNG, "image/png", length=False)
        if path == "/slow.png":
            time.sleep(1.5)
            return self._send(200, A_PNG, "image/png")
        if path == "/drip.png":  # each byte in time, the whole file too late
            self.send_response(200)
            self.send_header("Content-Length", "1000")
            self.end_headers()
            try:
                for _ in range(30):
                    self.wfile.write(b"x")
                    self.wfile.flush()
                    time.sleep(0.1)
            except OSError:
                pass
            return None
        return self._send(404, b"not found", "text/plain")


@pytest.fixture(scope="module")
def server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(autouse=True)
def only_loopback_connections(monkeypatch):
    """Every connection this process opens is recorded; one to anything but loopback fails the test."""
    opened = []
    real = urllib3.util.connection.create_connection

    def guarded(address, *args, **kwargs):
        opened.append(address[0])
        if address[0] not in ("127.0.0.1", "::1"):
            raise AssertionError(f"a connection to {address[0]} was attempted")
        return real(address, *args, **kwargs)

    monkeypatch.setattr(urllib3.util.connection, "create_connection", guarded)
    return opened


@pytest.fixture
def allow_loopback(settings):
    settings.URL_IMPORT_ALLOW_NETWORKS = LOOPBACK
    settings.URL_IMPORT_TIMEOUT_SECONDS = 5


def fetched(url) -> bytes:
    with svc.url_fetch(url) as body:
        return body.read()


def url_file(text, name="urls.txt"):
    return SimpleUploadedFile(name, text.encode())


# --- The list -------------------------------------------------------------------------------


def test_text_list_skips_blanks_and_comments_and_reports_bad_lines_by_number():
    parsed = svc.url_list_parse(
        name="urls.txt",
        data=b"# my images\n\nhttp://a.example/1.png\n  https://b.example/2.jpg?x=1  \nftp://x\nnot-a-url\n",
    )
    assert parsed.urls == [
        {"line": 3, "url": "http://a.example/1.png"}, {"line": 4, "url": "https://b.example/2.jpg?x=1"},
    ]
    assert [(e["line"], e["url"]) for e in parsed.errors] == [(5, "ftp://x"), (6, "not-a-url")]
    assert "http and https" in parsed.errors[0]["detail"]


def test_csv_list_takes_the_url_column_under_a_header_or_else_the_first_column():
    with_header = svc.url_list_parse(
        name="list.csv", data=b'label,URL\ncat,http://a.example/1.png\ndog,"http://a.example/2,3.png"\n'
    )
    assert [u["url"] for u in with_header.urls] == ["http://a.example/1.png", "http://a.example/2,3.png"]
    assert [u["line"] for u in with_header.urls] == [2, 3]
    no_header = svc.url_list_parse(name="list.csv", data=b"http://a.example/1.png,cat\n#skip,me\nftp://b,dog\n")
    assert no_header.urls == [{"line": 1, "url": "http://a.example/1.png"}]
    assert no_header.errors[0]["line"] == 3


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"ftp://x\nnot-a-url\n", "line 1"),
        (b"# nothing\n\n", "no URL"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "not a text file"),
        (b"http://a.example/\n\xff\xfe\n", "line 2"),
    ],
)
def test_unusable_lists_are_refused_with_the_line(data, message):
    with pytest.raises(svc.UrlListError) as refused:
        svc.url_list_parse(name="urls.txt", data=data)
    assert message in refused.value.messages[0]


def test_too_many_urls_are_refused(settings):
    settings.URL_IMPORT_MAX_URLS = 2
    with pytest.raises(svc.UrlListError, match="limit is 2"):
        svc.url_list_parse(name="urls.txt", data=b"http://a.example/1\nhttp://a.example/2\nhttp://a.example/3\n")


# --- Addresses ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.1", "loopback"),
        ("10.0.0.1", "private"),
        ("192.168.1.1", "private"),
        ("169.254.169.254", "link-local"),
        ("::1", "loopback"),
        ("fc00::1", "private"),
        ("fe80::1", "link-local"),
        ("0.0.0.0", "unspecified"),
        ("224.0.0.1", "multicast"),
        ("100.64.0.1", "not a public"),
        ("::ffff:127.0.0.1", "address"),  # IPv4-mapped loopback
        ("64:ff9b::a00:1", "address"),  # NAT64 of 10.0.0.1
    ],
)
def test_non_public_addresses_are_refused(settings, address, kind):
    settings.URL_IMPORT_ALLOW_NETWORKS = []
    refusal = svc.address_refusal(address)
    assert refusal is not None and kind in refusal


@pytest.mark.parametrize("address", ["93.184.215.14", "2606:4700:4700::1111"])
def test_public_addresses_pass_the_check(settings, address):
    settings.URL_IMPORT_ALLOW_NETWORKS = []
    assert svc.address_refusal(address) is None  # the check only: nothing connects to it


def test_the_allow_list_admits_its_networks_only(settings):
    settings.URL_IMPORT_ALLOW_NETWORKS = ["127.0.0.1/32", "10.1.0.0/16"]
    assert svc.address_refusal("127.0.0.1") is None
    assert svc.address_refusal("10.1.2.3") is None
    assert svc.address_refusal("10.2.0.1") is not None
    assert svc.address_refusal("169.254.169.254") is not None


def test_every_resolved_address_is_checked(settings, monkeypatch):
    settings.URL_IMPORT_ALLOW_NETWORKS = []
    answer = [(2, 1, 6, "", ("93.184.215.14", 80)), (2, 1, 6, "", ("10.0.0.1", 80))]
    monkeypatch.setattr(fetch.socket, "getaddrinfo", lambda *a, **k: answer)
    with pytest.raises(svc.UrlRefused, match="10.0.0.1 is a private address"):
        svc.host_resolve("mixed.example", 80)


def test_an_allowed_host_name_may_resolve_to_a_private_address(settings, monkeypatch):
    settings.URL_IMPORT_ALLOW_NETWORKS = []
    settings.URL_IMPORT_ALLOWED_HOSTS = ["store.intranet"]
    monkeypatch.setattr(fetch.socket, "getaddrinfo", lambda *a, **k: [(2, 1, 6, "", ("10.0.0.7", 80))])
    assert svc.host_resolve("store.intranet", 80) == "10.0.0.7"
    with pytest.raises(svc.UrlRefused):
        svc.host_resolve("other.intranet", 80)


# --- Fetching -------------------------------------------------------------------------------


def test_loopback_is_refused_without_the_allow_list_before_connecting(settings, server, only_loopback_connections):
    settings.URL_IMPORT_ALLOW_NETWORKS = []
    for url in (f"{server}/a.png", server.replace("127.0.0.1", "localhost") + "/a.png"):
        with pytest.raises(svc.UrlRefused, match="loopback"):
            svc.url_fetch(url)
    assert only_loopback_connections == []


def test_fetch_follows_a_redirect_and_checks_it(allow_loopback, server):
    assert fetched(f"{server}/to-a") == A_PNG


def test_a_redirect_to_a_refused_address_is_refused_before_connecting(
    allow_loopback, server, only_loopback_connections
):
    with pytest.raises(svc.UrlRefused, match="169.254.169.254 is a link-local address"):
        svc.url_fetch(f"{server}/to-metadata")
    assert set(only_loopback_connections) == {"127.0.0.1"}


def test_a_redirect_to_another_scheme_is_refused(allow_loopback, server):
    with pytest.raises(svc.UrlRefused, match="http and https"):
        svc.url_fetch(f"{server}/to-ftp")


def test_redirects_are_capped(allow_loopback, settings, server, only_loopback_connections):
    settings.URL_IMPORT_MAX_REDIRECTS = 3
    with pytest.raises(svc.UrlRefused, match="More than 3 redirects"):
        svc.url_fetch(f"{server}/loop")
    assert len(only_loopback_connections) == 4


@pytest.mark.parametrize("path", ["/big.png", "/big-unsized.png"])
def test_size_cap(allow_loopback, settings, server, path):
    settings.URL_IMPORT_MAX_BYTES = 4000
    with pytest.raises(svc.UrlRefused, match="limit of 4000 bytes|limit is 4000"):
        svc.url_fetch(f"{server}{path}")


@pytest.mark.parametrize("path", ["/slow.png", "/drip.png"])
def test_time_out_per_file(allow_loopback, settings, server, path):
    settings.URL_IMPORT_TIMEOUT_SECONDS = 0.5
    started = time.monotonic()
    with pytest.raises(svc.UrlRefused, match="Timed out after 0.5 s"):
        svc.url_fetch(f"{server}{path}")
    assert time.monotonic() - started < 1.4


def test_names_come_from_the_last_path_segment_and_non_ascii_paths_are_encoded(allow_loopback, server):
    url = f"{server}/café%20au%20lait.png?w=1"
    assert fetched(url) == C_PNG
    assert svc.file_name_for(url) == "café au lait.png"
    assert svc.file_name_for("http://h.example/") == "h_example"


def test_http_errors_are_reported(allow_loopback, server):
    with pytest.raises(svc.UrlRefused, match="404"):
        svc.url_fetch(f"{server}/missing.png")


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory):
    """An https server on 127.0.0.1 with a self-signed certificate for the name "localhost"."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a test certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=60,
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    names = []
    context.sni_callback = lambda sock, name, ctx: names.append(name)
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield {"port": httpd.server_address[1], "ca": str(cert), "sni": names}
    httpd.shutdown()
    httpd.server_close()


def _resolve_to_loopback(monkeypatch):
    real = fetch.socket.getaddrinfo
    loopback = [(fetch.socket.AF_INET, fetch.socket.SOCK_STREAM, 6, "", ("127.0.0.1", 0))]
    def resolve(host, *args, **kwargs):
        return loopback if host.endswith((".test", "localhost")) else real(host, *args, **kwargs)

    monkeypatch.setattr(fetch.socket, "getaddrinfo", resolve)


def test_https_connects_to_the_checked_address_and_verifies_the_name(
    allow_loopback, tls_server, monkeypatch, only_loopback_connections
):
    _resolve_to_loopback(monkeypatch)
    monkeypatch.setattr(fetch, "_ca_certs", lambda: tls_server["ca"])
    assert fetched(f"https://localhost:{tls_server['port']}/a.png") == A_PNG
    assert only_loopback_connections == ["127.0.0.1"]  # pinned: the socket went to the checked IP
    assert tls_server["sni"][-1] == "localhost"  # while SNI and the certificate check used the name


@pytest.mark.parametrize(("host", "trusted"), [("elsewhere.test", True), ("localhost", False)])
def test_https_refuses_a_certificate_for_another_name_or_from_an_unknown_issuer(
    allow_loopback, tls_server, monkeypatch, host, trusted
):
    _resolve_to_loopback(monkeypatch)
    if trusted:
        monkeypatch.setattr(fetch, "_ca_certs", lambda: tls_server["ca"])
    with pytest.raises(svc.UrlRefused, match="TLS connection failed"):
        svc.url_fetch(f"https://{host}:{tls_server['port']}/a.png")


# --- Importing ------------------------------------------------------------------------------


def report(job):
    return [(r.line, r.outcome, r.image_id is not None) for r in UrlImportLine.objects.filter(job=job).order_by("line")]


@pytest.mark.django_db
def test_import_stores_images_through_the_upload_checks_and_reports_each_bad_url(
    allow_loopback, server, project, manager
):
    urls = [
        {"line": 1, "url": f"{server}/a.png?size=large"},
        {"line": 2, "url": f"{server}/notimage.txt"},
        {"line": 3, "url": f"{server}/noext"},
        {"line": 5, "url": f"{server}/to-a"},  # the same bytes as line 1
    ]
    progress = []
    outcomes = svc.url_import(
        project=project, user=manager, urls=urls, on_line=lambda done, total, _: progress.append(f"{done}/{total}")
    )
    assert progress == ["1/4", "2/4", "3/4", "4/4"]
    images = {i.pk: i for i in Image.objects.filter(project=project)}
    assert sorted(o.image_id for o in outcomes if o.outcome == "stored") == sorted(images)
    assert sorted((i.file_name, i.width, i.height, i.size) for i in images.values()) == [
        ("a.png", 64, 48, len(A_PNG)), ("noext.png", 20, 10, len(C_PNG)),
    ]
    assert [(o.line, o.outcome) for o in outcomes] == [(1, "stored"), (2, "refused"), (3, "stored"), (5, "duplicate")]
    assert "not an image" in outcomes[1].detail
    assert "same image" in outcomes[3].detail


@pytest.mark.django_db
def test_encoded_slashes_never_make_a_path(allow_loopback, server, project, manager):
    """%2F decoded into / once gave names like ../../../tmp/x.png, which became COCO zip entries."""
    urls = [{"line": 1, "url": f"{server}/..%2F..%2F..%2Ftmp%2Fx.png"}, {"line": 2, "url": f"{server}/%2Fetc%2Fcron.d%2Fy.png"}]
    outcomes = svc.url_import(project=project, user=manager, urls=urls)
    assert [o.outcome for o in outcomes] == ["stored", "stored"]
    assert sorted(project.images.values_list("file_name", flat=True)) == ["x.png", "y.png"]


@pytest.mark.django_db
def test_the_job_writes_a_row_per_line_and_keeps_only_counts_in_its_result(allow_loopback, server, project, manager):
    url_list = svc.url_list_parse(name="u.txt", data=f"{server}/a.png\n{server}/b.jpg\nftp://x\n{server}/a.png\n".encode())
    job = svc.url_import_start(project=project, user=manager, url_list=url_list)
    assert job.kind == "import_urls" and job.state == Job.State.QUEUED
    assert report(job) == [(3, "refused", False)]  # the list's own refusals are rows from the start
    svc.url_import_job(job_id=job.pk)
    job.refresh_from_db()
    assert job.state == Job.State.SUCCEEDED and job.progress == 1
    assert job.result == {"stored": 2, "duplicate": 1, "refused": 1}
    assert report(job) == [(1, "stored", True), (2, "stored", True), (3, "refused", False), (4, "duplicate", True)]
    line3 = UrlImportLine.objects.get(job=job, line=3)
    assert (line3.url, line3.detail) == ("ftp://x", "Only http and https URLs are accepted, not ftp.")

    # A redelivered task after the worker died between the last line and finishing: nothing is fetched again.
    Job.objects.filter(pk=job.pk).update(state=Job.State.RUNNING, lease_owner="", heartbeat_at=None)
    svc.url_import_job(job_id=job.pk)
    job.refresh_from_db()
    assert project.images.count() == 2 and job.result == {"stored": 2, "duplicate": 1, "refused": 1}


@pytest.mark.django_db
def test_a_retried_job_continues_after_the_last_line_recorded(
    allow_loopback, server, project, manager, only_loopback_connections
):
    url_list = svc.url_list_parse(name="u.txt", data=f"{server}/a.png\n{server}/b.jpg\n".encode())
    job = svc.url_import_start(project=project, user=manager, url_list=url_list)
    UrlImportLine.objects.create(job=job, line=1, url=f"{server}/a.png", outcome="refused", detail="timed out")
    Job.objects.filter(pk=job.pk).update(state=Job.State.RUNNING)
    svc.url_import_job(job_id=job.pk)
    job.refresh_from_db()
    assert job.state == Job.State.SUCCEEDED and job.attempts == 1
    assert len(only_loopback_connections) == 1  # only b.jpg was fetched
    assert Image.objects.get().file_name == "b.jpg"
    assert job.result == {"stored": 1, "duplicate": 0, "refused": 1}


@pytest.mark.django_db
def test_report_writes_and_the_job_list_stay_small_however_long_the_list(project, manager, client_for, monkeypatch):
    """2,000 refused URLs: each line is one INSERT (no rewrite of a growing result), and polling the
    job list costs the same bytes as with one line (the report was a 47 MB result on every poll)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def unresolvable(*args, **kwargs):
        raise fetch.socket.gaierror(-2, "Name or service not known")

    monkeypatch.setattr(fetch.socket, "getaddrinfo", unresolvable)
    api = client_for(manager)
    sizes = {}
    for n in (1, 2000):
        urls = [{"line": i, "url": f"http://a.invalid/{i}.png"} for i in range(1, n + 1)]
        job = svc.url_import_start(project=project, user=manager, url_list=svc.UrlList(urls=urls))
        with CaptureQueriesContext(connection) as queries:
            svc.url_import_job(job_id=job.pk)  # every host fails to resolve: refused, no connection
        writes = [q["sql"] for q in queries.captured_queries if q["sql"].startswith(("INSERT", "UPDATE"))]
        line_writes = [w for w in writes if "url_import_line" in w.lower() or "urlimportline" in w.lower()]
        assert len(line_writes) == n
        assert len(writes) <= 3 * n + 10  # a row and a progress update per line, a few for the job
        job.refresh_from_db()
        assert job.result == {"stored": 0, "duplicate": 0, "refused": n}
        sizes[n] = len(api.get(f"/api/projects/{project.pk}/jobs/?kind=import_urls").content)
        Job.objects.filter(pk=job.pk).delete()
    assert sizes[2000] <= sizes[1] + 20, sizes


@pytest.mark.django_db
def test_command_imports_with_a_progress_line(allow_loopback, server, project, manager, tmp_path):
    listing = tmp_path / "urls.csv"
    listing.write_text(f"url,label\n{server}/a.png,cat\n{server}/missing.png,dog\n")
    out, err = StringIO(), StringIO()
    call_command("import_urls", project.pk, str(listing), "--user", manager.username, stdout=out, stderr=err)
    assert "1/2 downloaded" in out.getvalue() and "2/2 downloaded" in out.getvalue()
    assert "Stored 1 images; 1 lines refused." in out.getvalue()
    assert "line 3:" in err.getvalue() and "404" in err.getvalue()
    assert project.images.get().created_by == manager


# --- The API --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_post_queues_a_job_with_the_urls(project, manager, client_for):
    response = client_for(manager).post(
        f"/api/projects/{project.pk}/import/urls/", {"file": url_file("http://a.example/1.png\nftp://x\n")}
    )
    assert response.status_code == 202, response.json()
    body = response.json()
    assert body["kind"] == "import_urls" and body["state"] == "queued"
    assert body["detail"] == "0/1 downloaded; 1 lines refused"
    job = Job.objects.get(pk=body["id"])
    assert job.params["urls"] == [{"line": 1, "url": "http://a.example/1.png"}]
    assert report(job) == [(2, "refused", False)]


@pytest.mark.django_db
def test_the_report_lists_a_jobs_lines_paginated_and_filtered(project, manager, annotator, outsider, client_for):
    urls = [{"line": i, "url": f"http://a.example/{i}.png"} for i in range(1, 6)]
    errors = [{"line": 6, "url": "ftp://x", "detail": "Only http and https URLs are accepted, not ftp."}]
    job = svc.url_import_start(project=project, user=manager, url_list=svc.UrlList(urls=urls, errors=errors))
    for i in range(1, 6):
        UrlImportLine.objects.create(job=job, line=i, url=urls[i - 1]["url"], outcome="stored" if i % 2 else "duplicate")
    path = f"/api/jobs/{job.pk}/url-lines/"
    page = client_for(annotator).get(path, {"page_size": 4}).json()
    assert page["count"] == 6 and [r["line"] for r in page["results"]] == [1, 2, 3, 4] and page["next"]
    refused = client_for(manager).get(path, {"outcome": "refused"}).json()
    assert refused["results"] == [
        {"line": 6, "url": "ftp://x", "outcome": "refused", "detail": "Only http and https URLs are accepted, not ftp.", "image": None}
    ]
    both = client_for(manager).get(path, {"outcome__in": "refused,duplicate"}).json()
    assert [r["line"] for r in both["results"]] == [2, 4, 6]
    assert client_for(outsider).get(path).status_code == 404
    other = Job.objects.create(project=project, kind="features")
    assert client_for(manager).get(f"/api/jobs/{other.pk}/url-lines/").status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"ftp://x\nnot-a-url\n", "file: No usable URL: line 1: Only http and https"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00", "file: This is not a text file"),
    ],
)
def test_post_refuses_an_unusable_file_naming_the_line(project, manager, client_for, data, message):
    response = client_for(manager).post(
        f"/api/projects/{project.pk}/import/urls/", {"file": SimpleUploadedFile("urls.txt", data)}
    )
    assert response.status_code == 400
    assert response.json()["detail"].startswith(message)
    assert not Job.objects.filter(kind="import_urls").exists()


@pytest.mark.django_db
def test_only_managers_import(project, annotator, reviewer, outsider, client_for):
    path = f"/api/projects/{project.pk}/import/urls/"
    assert client_for(annotator).post(path, {"file": url_file("http://a.example/1.png\n")}).status_code == 403
    assert client_for(reviewer).post(path, {"file": url_file("http://a.example/1.png\n")}).status_code == 403
    assert client_for(outsider).post(path, {"file": url_file("http://a.example/1.png\n")}).status_code == 404
    assert not Job.objects.exists()


# --- A real worker --------------------------------------------------------------------------


@pytest.fixture
def worker_allowing_loopback(transactional_db, monkeypatch, settings, request):
    """A real worker whose settings (read from its environment) admit the local file server."""
    monkeypatch.setenv("URL_IMPORT_ALLOW_NETWORKS", ",".join(LOOPBACK))
    settings.URL_IMPORT_ALLOW_NETWORKS = LOOPBACK
    return request.getfixturevalue("celery_worker_process")


@pytest.mark.worker
@pytest.mark.slow
def test_worker_imports_a_url_list(worker_allowing_loopback, server, project, manager, client_for):
    listing = "\n".join([
        f"{server}/a.png",
        f"{server}/b.jpg",
        f"{server}/img/c.png",
        f"{server}/missing.png",
        f"{server}/notimage.txt",
        "ftp://files.example/x.png",
    ])
    api = client_for(manager)
    response = api.post(f"/api/projects/{project.pk}/import/urls/", {"file": url_file(listing)})
    assert response.status_code == 202, response.json()
    job_url = f"/api/jobs/{response.json()['id']}/"
    deadline = time.monotonic() + 90
    while api.get(job_url).json()["state"] in ("queued", "running") and time.monotonic() < deadline:
        time.sleep(0.3)
    job = api.get(job_url).json()
    assert job["state"] == "succeeded", (job, worker_allowing_loopback.log_path.read_text())
    assert job["progress"] == 1
    images = Image.objects.filter(project=project).order_by("id")
    assert [(i.file_name, i.width, i.height, i.size) for i in images] == [
        ("a.png", 64, 48, len(A_PNG)), ("b.jpg", 40, 30, len(B_JPG)), ("c.png", 20, 10, len(C_PNG)),
    ]
    assert job["result"] == {"stored": 3, "duplicate": 0, "refused": 3}
    lines = api.get(f"/api/jobs/{job['id']}/url-lines/").json()["results"]
    assert sorted(r["image"] for r in lines if r["outcome"] == "stored") == [i.pk for i in images]
    errors = {e["line"]: e for e in lines if e["outcome"] == "refused"}
    assert sorted(errors) == [4, 5, 6]
    assert "404" in errors[4]["detail"] and errors[4]["url"].endswith("/missing.png")
    assert "not an image" in errors[5]["detail"]
    assert "http and https" in errors[6]["detail"]


@pytest.mark.django_db
def test_polling_jobs_never_loads_the_url_list(project, manager, client_for):
    """A URL import keeps its list (up to URL_IMPORT_MAX_LIST_BYTES) in params: the list and the job's
    own page, polled every second or two, must not read it back each time."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    urls = [{"line": i, "url": f"http://a.example/{'x' * 1000}/{i}.png"} for i in range(1, 2001)]
    job = svc.url_import_start(project=project, user=manager, url_list=svc.UrlList(urls=urls))
    api = client_for(manager)
    for path in (f"/api/projects/{project.pk}/jobs/", f"/api/jobs/{job.pk}/"):
        with CaptureQueriesContext(connection) as queries:
            response = api.get(path)
        assert response.status_code == 200 and len(response.content) < 2000
        job_queries = [q["sql"] for q in queries.captured_queries if "labeling_job" in q["sql"]]
        assert job_queries and not any('"params"' in q for q in job_queries), job_queries
