"""Where a view that posts back sends the user: a URL of this site, never another's."""
from django.http import HttpRequest
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme


def back_to(request: HttpRequest, *candidates: str | None) -> str:
    """The first of `candidates` (a form's `next`, the Referer) that is a URL of this site,
    https when the request is; else the admin's index, which every staff user may see."""
    for candidate in candidates:
        if candidate and url_has_allowed_host_and_scheme(
            candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            return candidate
    return reverse("admin:index")
