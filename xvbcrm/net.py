"""The client's address: REMOTE_ADDR, or the hop a configured number of trusted proxies saw.

The one source of it for the login throttling (django-axes' AXES_CLIENT_IP_CALLABLE), the
webhook's journal and PBX_ALLOWED_NETWORKS, and the recordings' listen log. Not django-ipware
(8.0): it would replace three lines, and it skips an X-Forwarded-For entry that is not an
address, so a client's own entry could slide into the trusted proxy's place.
"""
import ipaddress
from collections.abc import Mapping

from django.conf import settings
from django.http import HttpRequest

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def parse_address(text: str) -> Address:
    """`text` as an IP address, without an IPv6 zone (`fe80::1%eth0` is fe80::1: PostgreSQL
    refuses zones); ValueError when it is not one."""
    return ipaddress.ip_address(text.strip().split("%", 1)[0])


def _address(text: str) -> str | None:
    try:
        return str(parse_address(text))
    except ValueError:
        return None


def client_address(meta: Mapping[str, str], *, trusted_proxies: int | None = None) -> str | None:
    """The address the request came from, read from WSGI `meta` (request.META).

    With no trusted proxy it is REMOTE_ADDR, whatever X-Forwarded-For says (anyone can send
    that header). Behind N trusted proxies, each appending the address it saw to
    X-Forwarded-For (nginx's `$proxy_add_x_forwarded_for`), it is the N-th entry from the
    right: entries further left were written by the client and prove nothing. A request that
    did not pass all N proxies (too few entries) keeps REMOTE_ADDR.
    """
    count = settings.TRUSTED_PROXY_COUNT if trusted_proxies is None else trusted_proxies
    remote = _address(meta.get("REMOTE_ADDR", ""))
    if count <= 0:
        return remote
    hops = [hop for hop in meta.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
    if len(hops) < count:
        return remote
    return _address(hops[-count]) or remote


def request_client_address(request: HttpRequest) -> str | None:
    """`client_address` of a Django request."""
    return client_address(request.META)
