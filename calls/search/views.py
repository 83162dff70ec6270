"""The admin header's search over HTTP: the results page."""
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _

from calls.search.services import may_search, search

QUERY_PARAM = "q"


def results(request: HttpRequest) -> TemplateResponse:
    """`/admin/search/?q=`: the contacts and calls matching a number, a name or a company."""
    if not may_search(request.user):
        raise PermissionDenied
    found = search(user=request.user, query=request.GET.get(QUERY_PARAM, ""))
    context = {
        **admin.site.each_context(request),
        "title": _("Search"),
        "results": found,
        "search_query": found.query,
    }
    return TemplateResponse(request, "calls/search/results.html", context)
