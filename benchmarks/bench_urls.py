"""The project's URLs plus `GET /bench/constant/`: a Django view answering a constant JSON."""
from django.http import HttpRequest, JsonResponse
from django.urls import path

from xvbcrm.urls import urlpatterns as project_urls

CONSTANT = {"ok": True}


def constant(request: HttpRequest) -> JsonResponse:
    """No database, no template: the floor of a request through gunicorn and Django."""
    return JsonResponse(CONSTANT)


urlpatterns = [path("bench/constant/", constant), *project_urls]
