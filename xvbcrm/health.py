"""`/healthz` for load balancers: 200 while the database answers a trivial query, else 503."""
import logging
from collections.abc import Callable

from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse, JsonResponse

logger = logging.getLogger(__name__)

PATHS = {"/healthz", "/healthz/"}


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
        return JsonResponse({"status": "error", "error": "database unavailable"}, status=503)
    return JsonResponse({"status": "ok"})


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
