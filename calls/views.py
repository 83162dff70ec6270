"""The PBX webhook endpoint: read the request, hand it to the webhook service, answer JSON."""
from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from calls.pbx.journal import WebhookRequest
from calls.pbx.webhook import handle_webhook
from xvbcrm.net import request_client_address

# Past this much an oversized body is no longer drained and the connection may be dropped.
DRAIN_LIMIT = 8 * 1024 * 1024
CHUNK = 64 * 1024


def _read_body(request: HttpRequest) -> tuple[bytes, bool, int]:
    """The raw body, whether it was over the limit (the rest is read and dropped) and how
    many bytes were read.

    Reading the stream ourselves, not `request.POST`, keeps undecodable bytes and any number
    of fields in our hands, and draining an oversized body lets the client read our answer.
    """
    limit = settings.PBX_MAX_BODY_BYTES
    body = request.read(limit + 1)
    if len(body) <= limit:
        return body, False, len(body)
    drained = len(body)
    while drained < DRAIN_LIMIT and (chunk := request.read(CHUNK)):
        drained += len(chunk)
    return body[:limit], True, drained


@csrf_exempt
def pbx_webhook(request: HttpRequest) -> HttpResponse:
    """`POST /crm-api`: every PBX webhook (events and the caller lookup)."""
    body, oversized, size = _read_body(request)
    handled = handle_webhook(
        WebhookRequest(
            method=request.method or "",
            body=body,
            oversized=oversized,
            content_type=request.META.get("CONTENT_TYPE", ""),
            meta_headers={k: v for k, v in request.META.items() if k.startswith("HTTP_")},
            remote_addr=request_client_address(request),
            body_size=size,
        )
    )
    response = JsonResponse(
        handled.payload,
        status=handled.status,
        content_type="application/json; charset=utf-8",
        json_dumps_params={"ensure_ascii": False},
    )
    if handled.status == 405:
        response["Allow"] = "POST"
    if handled.retry_after is not None:
        response["Retry-After"] = str(handled.retry_after)
    return response
