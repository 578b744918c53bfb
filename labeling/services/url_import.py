"""Images from a list of URLs: parse the list, fetch each URL safely, store it as an upload.

Fetching a URL a user typed is a way into the server's own network (SSRF), so every hop is
checked: only http and https; the host is resolved once and every address it resolves to must
be public (or in ``URL_IMPORT_ALLOW_NETWORKS`` / ``URL_IMPORT_ALLOWED_HOSTS``); the connection
goes to the address that was checked (urllib3 pointed at the IP, the name kept for the Host
header, SNI and certificate checks), so a second DNS answer cannot move it elsewhere; redirects
are followed by hand, each one checked again. No proxy from the environment is used. Each body
is capped in size and time, then goes through the same checks and sha256 de-duplication as an
upload.
"""

import csv
import dataclasses
import io
import ipaddress
import logging
import socket
import time
from urllib.parse import quote, unquote, urljoin, urlsplit

import urllib3
from django.conf import settings
from django.db import transaction

from ..models import Job, Project
from .uploads import UploadRefused, check_image

log = logging.getLogger(__name__)

SCHEMES = ("http", "https")
REDIRECT_STATUSES = (301, 302, 303, 307, 308)
MAX_URL_LENGTH = 2048
_CHUNK = 64 * 1024
_URL_SAFE = "/?#[]@!$&'()*+,;=%:-._~"  # reserved and unreserved characters, and existing escapes
# NAT64 (RFC 6052) carries an IPv4 address in its last 32 bits; the embedded address is what is reached.
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class UrlListError(ValueError):
    """The list as a whole cannot be used; ``messages`` name the lines."""

    def __init__(self, messages: list[str]):
        super().__init__(messages[0])
        self.messages = messages


class UrlRefused(Exception):
    """One URL could not be fetched or stored; ``detail`` says why."""

    def __init__(self, detail: str):
        super().__init__(detail)
        self.detail = detail


@dataclasses.dataclass
class UrlList:
    urls: list[dict] = dataclasses.field(default_factory=list)  # [{"line": n, "url": ...}]
    errors: list[dict] = dataclasses.field(default_factory=list)  # [{"line": n, "url": ..., "detail": ...}]


# --- The list -------------------------------------------------------------------------------


def url_list_parse(*, name: str, data: bytes) -> UrlList:
    """Read a text file (one URL a line) or a CSV file (first column, or the ``url`` column).

    Blank lines and lines starting with ``#`` are skipped; other lines that are not http(s) URLs
    are reported with their line number. Raises UrlListError when the file is not text, is too
    big or too long, or has no usable URL.
    """
    if len(data) > settings.URL_IMPORT_MAX_LIST_BYTES:
        raise UrlListError([f"The file has {len(data)} bytes; the limit is {settings.URL_IMPORT_MAX_LIST_BYTES}."])
    text = _decode(data)
    rows = _csv_rows(text) if _is_csv(name, text) else _text_rows(text)
    parsed = UrlList()
    for line, value in rows:
        detail = url_problem(value)
        if detail:
            parsed.errors.append({"line": line, "url": value[:MAX_URL_LENGTH], "detail": detail})
        else:
            parsed.urls.append({"line": line, "url": value})
    if len(parsed.urls) > settings.URL_IMPORT_MAX_URLS:
        raise UrlListError([f"The list has {len(parsed.urls)} URLs; the limit is {settings.URL_IMPORT_MAX_URLS}."])
    if not parsed.urls:
        if not parsed.errors:
            raise UrlListError(["The file has no URL (only blank lines and # comments)."])
        raise UrlListError([f"No usable URL: line {e['line']}: {e['detail']}" for e in parsed.errors[:20]])
    return parsed


def _decode(data: bytes) -> str:
    if b"\x00" in data:
        line = data[: data.index(b"\x00")].count(b"\n") + 1
        raise UrlListError([f"This is not a text file (line {line} holds a NUL byte)."])
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise UrlListError([f"This is not a UTF-8 text file (line {line}, byte {exc.start})."]) from None


def _is_csv(name: str, text: str) -> bool:
    if name.lower().endswith(".csv"):
        return True
    # A text list is one URL a line; a first line with a `url` column is a CSV whatever its name.
    first = next((ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")), "")
    return "," in first and "url" in [c.strip().strip('"').lower() for c in first.split(",")]


def _text_rows(text: str):
    for number, raw in enumerate(text.splitlines(), start=1):
        value = raw.strip()
        if value and not value.startswith("#"):
            yield number, value


def _csv_rows(text: str):
    """(line, first or ``url`` cell); a first row with a ``url`` cell, or with no URL at all, is a header."""
    reader = csv.reader(io.StringIO(text, newline=""))
    column = None
    for row in reader:
        line = reader.line_num
        cells = [c.strip() for c in row]
        if not any(cells) or cells[0].startswith("#"):
            continue
        if column is None:
            lowered = [c.lower() for c in cells]
            if "url" in lowered:
                column = lowered.index("url")
                continue
            column = 0
            if not any("://" in c for c in cells):
                continue  # a header without a url column: the URLs are in the first
        value = cells[column] if column < len(cells) else ""
        yield line, value


def url_problem(url: str) -> str | None:
    """Why ``url`` is not a URL we may fetch (syntax only), or None."""
    if len(url) > MAX_URL_LENGTH:
        return f"The URL is longer than {MAX_URL_LENGTH} characters."
    if not url:
        return "The line has no URL."
    if any(ch.isspace() for ch in url):
        return f"Not a URL (it contains a space): {url!r}."
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as exc:
        return f"Not a URL: {exc}."
    if not parts.scheme or "://" not in url:
        return f"Not a URL: {url!r}."
    if parts.scheme.lower() not in SCHEMES:
        return f"Only http and https URLs are accepted, not {parts.scheme}."
    if not parts.hostname:
        return "The URL has no host."
    if parts.username is not None or parts.password is not None:
        return "URLs with a user name or password are not accepted."
    return None


# --- Addresses ------------------------------------------------------------------------------


def address_refusal(address: str) -> str | None:
    """Why ``address`` (an IP) may not be fetched from, or None when it may.

    Refused unless public: loopback, private, link-local, multicast, reserved, unspecified and
    every other not-global range; IPv6 forms that carry an IPv4 address are judged by it too.
    Addresses in ``URL_IMPORT_ALLOW_NETWORKS`` are accepted whatever they are.
    """
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    candidates = [ip, *_embedded_ipv4(ip)]
    allowed = [ipaddress.ip_network(n.strip(), strict=False) for n in settings.URL_IMPORT_ALLOW_NETWORKS if n.strip()]
    if any(c.version == net.version and c in net for c in candidates for net in allowed):
        return None
    for c in candidates:
        for kind in ("loopback", "unspecified", "link_local", "private", "multicast", "reserved"):
            if getattr(c, f"is_{kind}"):
                article = "an" if kind == "unspecified" else "a"
                return f"{address} is {article} {kind.replace('_', '-')} address; only public addresses are fetched"
        if not c.is_global:
            return f"{address} is not a public address; only public addresses are fetched"
    return None


def _embedded_ipv4(ip) -> list:
    if ip.version != 6:
        return []
    found = [ip.ipv4_mapped, ip.sixtofour, ip.teredo[1] if ip.teredo else None]
    if ip in _NAT64:
        found.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    return [a for a in found if a is not None]


def host_resolve(host: str, port: int) -> str:
    """Resolve ``host`` and check every address it has; return the first (the one to connect to)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise UrlRefused(f"The host {host} could not be resolved: {exc}.") from None
    addresses = list(dict.fromkeys(info[4][0] for info in infos))
    if not addresses:
        raise UrlRefused(f"The host {host} has no address.")
    if host.lower().rstrip(".") in {h.strip().lower() for h in settings.URL_IMPORT_ALLOWED_HOSTS}:
        return addresses[0]
    for address in addresses:
        refusal = address_refusal(address)
        if refusal:
            # One private address among public ones is refused too: the client might pick it.
            where = f"{host} resolves to {address}: " if address != host else ""
            raise UrlRefused(f"Refused: {where}{refusal}.")
    return addresses[0]


# --- Fetching -------------------------------------------------------------------------------


def url_fetch(url: str) -> bytes:
    """Download ``url``, checking each hop's addresses first; raise UrlRefused with the reason.

    Redirects are followed by hand (at most ``URL_IMPORT_MAX_REDIRECTS``); the body is read up
    to ``URL_IMPORT_MAX_BYTES`` and the whole fetch must end within ``URL_IMPORT_TIMEOUT_SECONDS``.
    """
    deadline = time.monotonic() + settings.URL_IMPORT_TIMEOUT_SECONDS
    for _hop in range(settings.URL_IMPORT_MAX_REDIRECTS + 1):
        response, pool = _open(url, deadline)
        try:
            if response.status in REDIRECT_STATUSES:
                location = response.headers.get("Location")
                if not location:
                    raise UrlRefused(f"The server answered {response.status} without a Location.")
                target = urljoin(url, location.strip())
                problem = url_problem(target)
                if problem:
                    raise UrlRefused(f"Redirected to {target[:200]}: {problem}")
                url = target
                continue
            if response.status != 200:
                raise UrlRefused(f"The server answered {response.status} {response.reason or ''}".rstrip() + ".")
            return _read_capped(response, deadline)
        except (urllib3.exceptions.HTTPError, OSError, ValueError) as exc:
            raise UrlRefused(_network_detail(exc)) from None
        finally:
            response.close()
            pool.close()
    raise UrlRefused(f"More than {settings.URL_IMPORT_MAX_REDIRECTS} redirects.")


def _open(url: str, deadline: float):
    parts = urlsplit(url)
    scheme, host = parts.scheme.lower(), parts.hostname
    port = parts.port or (443 if scheme == "https" else 80)
    try:
        host.encode("ascii")
    except UnicodeError:
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            raise UrlRefused(f"The host name {host!r} is not valid.") from None
    address = host_resolve(host, port)
    remaining = _remaining(deadline)
    timeout = urllib3.Timeout(connect=remaining, read=remaining)
    # Pinned: the pool connects to the checked address; the name goes in Host, SNI and the certificate check.
    if scheme == "https":
        pool = urllib3.HTTPSConnectionPool(
            address, port, timeout=timeout, retries=False, maxsize=1,
            server_hostname=host, assert_hostname=host, cert_reqs="CERT_REQUIRED", ca_certs=_ca_certs(),
        )
    else:
        pool = urllib3.HTTPConnectionPool(address, port, timeout=timeout, retries=False, maxsize=1)
    host_header = f"[{host}]" if ":" in host else host
    if parts.port:
        host_header += f":{parts.port}"
    # Characters a request line cannot carry (spaces aside, refused earlier) are percent-encoded.
    path = quote((parts.path or "/") + (f"?{parts.query}" if parts.query else ""), safe=_URL_SAFE)
    headers = {
        "Host": host_header,
        "User-Agent": "annotator-url-import/1",
        "Accept": "image/*,*/*;q=0.5",
        "Accept-Encoding": "identity",  # no decompression bomb: the cap counts the bytes as sent
    }
    try:
        response = pool.urlopen(
            "GET", path, headers=headers, redirect=False, retries=False, preload_content=False,
            decode_content=False, assert_same_host=False, timeout=timeout,
        )
    except (urllib3.exceptions.HTTPError, OSError, ValueError) as exc:
        pool.close()
        raise UrlRefused(_network_detail(exc)) from None
    return response, pool


def _read_capped(response, deadline: float) -> bytes:
    cap = settings.URL_IMPORT_MAX_BYTES
    declared = response.headers.get("Content-Length")
    if declared and declared.isdigit() and int(declared) > cap:
        raise UrlRefused(f"The file has {int(declared)} bytes; the limit is {cap}.")
    chunks, size = [], 0
    while True:
        sock = getattr(getattr(response, "connection", None), "sock", None)
        if sock is not None:
            sock.settimeout(_remaining(deadline))  # the deadline bounds the whole file, not each read
        chunk = response.read1(_CHUNK)
        if not chunk:
            break
        size += len(chunk)
        if size > cap:
            raise UrlRefused(f"The file is larger than the limit of {cap} bytes.")
        chunks.append(chunk)
        _remaining(deadline)
    return b"".join(chunks)


def _remaining(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise UrlRefused(f"Timed out after {settings.URL_IMPORT_TIMEOUT_SECONDS:g} s.")
    return left


def _network_detail(exc: Exception) -> str:
    text = str(exc)
    if isinstance(exc, (urllib3.exceptions.TimeoutError, socket.timeout, TimeoutError)) or "timed out" in text:
        return f"Timed out after {settings.URL_IMPORT_TIMEOUT_SECONDS:g} s."
    if isinstance(exc, urllib3.exceptions.SSLError):
        return f"The TLS connection failed: {text}."
    return f"The download failed: {exc.__class__.__name__}: {text}."


def _ca_certs() -> str | None:
    try:
        import certifi
    except ImportError:  # the system's store is used
        return None
    return certifi.where()


def file_name_for(url: str) -> str:
    """The URL's last path segment (decoded), or the host when the path ends in a slash."""
    parts = urlsplit(url)
    name = unquote(parts.path.rsplit("/", 1)[-1]).strip().replace("\\", "_")
    return (name or parts.hostname or "image")[:200]


# --- Importing ------------------------------------------------------------------------------


def url_import(*, project: Project, user, urls: list[dict], start: int = 0, result: dict | None = None,
               on_progress=None) -> dict:
    """Fetch and store ``urls[start:]``; return ``{"created": [ids], "errors": [{line, url, detail}]}``.

    Args:
        result: what an earlier, interrupted run reported; it is continued.
        on_progress: called as ``on_progress(done, total, result)`` after each URL.
    """
    from .images import _image_store

    result = {"created": list((result or {}).get("created", [])), "errors": list((result or {}).get("errors", []))}
    seen: dict[str, str] = {}
    for index in range(start, len(urls)):
        entry = urls[index]
        try:
            data = url_fetch(entry["url"])
            checked = check_image(file_name_for(entry["url"]), data)
            if "." not in checked.name:
                checked = dataclasses.replace(checked, name=f"{checked.name}.{checked.extension}")
            # A redelivered job meets its own earlier images here: reported, never stored twice.
            image = _image_store(project=project, user=user, checked=checked, seen=seen)
            result["created"].append(image.pk)
        except (UrlRefused, UploadRefused) as exc:
            log.info("URL import into project %s: line %s refused: %s", project.pk, entry["line"], exc.detail)
            result["errors"].append({"line": entry["line"], "url": entry["url"], "detail": exc.detail})
        if on_progress is not None:
            on_progress(index + 1, len(urls), result)
    result["errors"].sort(key=lambda e: e["line"])
    if result["created"]:  # an earlier, interrupted attempt's images too; a waiting features job takes them all
        from mlassist.services.features import features_request

        features_request(project_id=project.pk)
    return result


def url_import_start(*, project: Project, user, url_list: UrlList) -> Job:
    """Queue a job that imports ``url_list``; the refused lines are reported in its result."""
    from ..tasks import url_import_task
    from .jobs import job_create

    params = {"urls": url_list.urls, "errors": url_list.errors}
    with transaction.atomic():
        job = job_create(project=project, kind="import_urls", user=user, params=params)
        refused = f"; {len(url_list.errors)} lines refused" if url_list.errors else ""
        job.detail = f"0/{len(url_list.urls)} downloaded{refused}"
        job.save(update_fields=["detail"])
        url_import_task.delay_on_commit(str(job.pk))
    return job


def url_import_job(*, job_id) -> None:
    """The worker's side: continue from the last URL an earlier attempt reported, then finish the job."""
    from .jobs import job_progress, job_run

    def work(job):
        urls = job.params.get("urls", [])
        partial = job.result or {"created": [], "errors": list(job.params.get("errors", []))}

        def on_progress(done, total, result):
            job_progress(job_id=job.pk, progress=done / total, detail=f"{done}/{total} downloaded")
            # The report so far, kept so that a retried job goes on from here.
            Job.objects.filter(pk=job.pk).update(result={**result, "done": done})

        result = url_import(
            project=job.project, user=job.created_by, urls=urls, start=partial.get("done", 0),
            result=partial, on_progress=on_progress,
        )
        return result, ""

    job_run(job_id=job_id, work=work)
