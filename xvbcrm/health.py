"""The database and load balancers: `/healthz`, and 503 instead of 500 while the database is down.

`/healthz` answers 200 while the database answers a trivial query, else 503. Any other request
that fails because the database cannot be reached (django.db's OperationalError: refused, timed
out, locked; on SQLite also a missing file or table) answers 503 with `Retry-After` too, a short
page (JSON for machine clients), so that a load balancer takes the server out of rotation.
"""
import logging
import sys
from collections.abc import Callable

from django.db import DatabaseError, InterfaceError, OperationalError, connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.views import defaults

logger = logging.getLogger(__name__)

PATHS = {"/healthz", "/healthz/"}
# What a client is told to wait before trying again, in seconds.
RETRY_AFTER_SECONDS = 60
# Their clients read JSON: the REST API, the desk's poll and the PBX webhook.
JSON_PATHS = ("/api/", "/desk/", "/crm-api")


def healthz(request: HttpRequest) -> JsonResponse:
    """`GET /healthz`: `{"status": "ok"}`, or 503 `{"status": "error", ...}` without a database.

    How long it may take is bounded by the database's connect timeout (DB_CONNECT_TIMEOUT on
    PostgreSQL, 3 s by default).
    """
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as exc:
        logger.warning("Health check: the database does not answer: %s", exc)
        # Do not keep a broken persistent connection for the next request.
        connection.close()
        response = JsonResponse({"status": "error", "error": "database unavailable"}, status=503)
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
    return JsonResponse({"status": "ok"})


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500: 503 when the database is unreachable, else Django's own 500 page.

    Django calls it while handling the exception (which it does not pass): sys.exc_info() holds
    it. Django logs the request's error with its traceback (django.request), whatever the status.
    """
    if not isinstance(sys.exc_info()[1], OperationalError | InterfaceError):
        return defaults.server_error(request)
    if request.path_info.startswith(JSON_PATHS):
        response = JsonResponse({"error": "database unavailable"}, status=503)
    else:
        # Rendered without the request: no context processor may ask the database.
        response = HttpResponse(render_to_string("503.html"), status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


class HealthCheckMiddleware:
    """Answer `/healthz` before the other middleware, for any Host header and over plain http.

    Load balancers probe an app server by its IP address (a Host that is not in ALLOWED_HOSTS)
    and over http (no SSL redirect): placed first, this answers them before SecurityMiddleware
    and CommonMiddleware look at either. It reveals nothing but whether the database answers.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info in PATHS and request.method in ("GET", "HEAD"):
            return healthz(request)
        return self.get_response(request)
