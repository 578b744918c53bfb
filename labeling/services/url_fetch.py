"""Fetching a URL a user typed, safely: the SSRF checks, the pinned connection, the caps.

Fetching a URL a user typed is a way into the server's own network (SSRF), so every hop is
checked: only http and https; the host is resolved once and every address it resolves to must
be public (or in ``URL_IMPORT_ALLOW_NETWORKS`` / ``URL_IMPORT_ALLOWED_HOSTS``); the connection
goes to the address that was checked (urllib3 pointed at the IP, the name kept for the Host
header, SNI and certificate checks), so a second DNS answer cannot move it elsewhere; redirects
are followed by hand, each one checked again. No proxy from the environment is used. Each body
is capped in size and time, and spooled to a temporary file rather than held in memory.
"""

import ipaddress
import socket
import tempfile
import time
from urllib.parse import quote, urljoin, urlsplit

import urllib3
from django.conf import settings

from ..names import safe_file_name

SCHEMES = ("http", "https")
REDIRECT_STATUSES = (301, 302, 303, 307, 308)
MAX_URL_LENGTH = 2048
_CHUNK = 64 * 1024
_SPOOL_IN_MEMORY = 8 * 1024 * 1024
_URL_SAFE = "/?#[]@!$&'()*+,;=%:-._~"  # reserved and unreserved characters, and existing escapes
# NAT64 (RFC 6052) carries an IPv4 address in its last 32 bits; the embedded address is what is reached.
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class UrlRefused(Exception):
    """One URL could not be fetched or stored; ``detail`` says why."""

    def __init__(self, detail: str):
        super().__init__(detail)
        self.detail = detail


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


def url_fetch(url: str):
    """Download ``url`` into a temporary file (returned at its start), checking each hop's addresses
    first; raise UrlRefused with the reason.

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


def _read_capped(response, deadline: float):
    """The body in a spooled temporary file (memory up to 8 MB, then disk), read at most to the cap."""
    cap = settings.URL_IMPORT_MAX_BYTES
    declared = response.headers.get("Content-Length")
    if declared and declared.isdigit() and int(declared) > cap:
        raise UrlRefused(f"The file has {int(declared)} bytes; the limit is {cap}.")
    spool, size = tempfile.SpooledTemporaryFile(max_size=_SPOOL_IN_MEMORY), 0
    try:
        _copy_capped(response, deadline, spool, cap, size)
    except BaseException:
        spool.close()
        raise
    spool.seek(0)
    return spool


def _copy_capped(response, deadline, spool, cap, size) -> None:
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
        spool.write(chunk)
        _remaining(deadline)


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


def file_name_for(url: str, extension: str = "") -> str:
    """A safe name from the URL's last path segment, decoded once (an encoded ``/`` cannot make a
    path), or the host when the path ends in a slash."""
    parts = urlsplit(url)
    segment = parts.path.rsplit("/", 1)[-1]
    name = safe_file_name(segment, extension=extension, percent_encoded=True) if segment.strip() else ""
    return name or safe_file_name((parts.hostname or "image").replace(".", "_"), extension=extension)
