"""The client's address: REMOTE_ADDR, or the hop a configured number of trusted proxies saw."""
import ipaddress
from collections.abc import Callable, Mapping

from django.conf import settings
from django.http import HttpRequest, HttpResponse


def _address(text: str) -> str | None:
    # A scoped IPv6 address (`fe80::1%eth0`) is kept without its zone: PostgreSQL refuses it.
    try:
        return str(ipaddress.ip_address(text.strip().split("%", 1)[0]))
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
    """`client_address` of a Django request (django-axes' AXES_CLIENT_IP_CALLABLE)."""
    return client_address(request.META)


class ClientAddressMiddleware:
    """Behind trusted proxies, put the client's address in REMOTE_ADDR for everything after.

    The proxy's own address is kept in `XVB_PROXY_ADDR`. With DJANGO_TRUSTED_PROXY_COUNT=0
    (the default) nothing changes.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if settings.TRUSTED_PROXY_COUNT > 0:
            request.META["XVB_PROXY_ADDR"] = request.META.get("REMOTE_ADDR", "")
            request.META["REMOTE_ADDR"] = client_address(request.META) or ""
        return self.get_response(request)
