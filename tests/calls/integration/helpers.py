"""Posting webhooks through the real view and reading the "PBX integration" page."""
from datetime import timedelta

from django.test import Client

from calls.models import PbxRequest
from tests.captures import CONTACT
from tests.html import tags

PAGE = "/admin/pbx-integration/"
FORM = "application/x-www-form-urlencoded"
WRONG_CODE = CONTACT.replace(b"10019", b"99999")
NO_CODE = b"cmd=contact&phone=79201119613"


def webhook(client: Client, body: bytes) -> int:
    """POST a webhook body through the real view; the answer's status code."""
    return client.post("/crm-api", data=body, content_type=FORM).status_code


def page(client: Client, **extra: str):  # noqa: ANN201
    """The page in English (the default language is Russian)."""
    return client.get(PAGE, HTTP_ACCEPT_LANGUAGE="en", **extra)


def diagnosis(response) -> str | None:  # noqa: ANN001
    """The code of the headline shown, if any."""
    shown = [attrs["data-code"] for attrs in tags(response, "li") if "data-code" in attrs]
    assert len(shown) <= 1
    return shown[0] if shown else None


def problems(response) -> list[tuple[str, int | None, str]]:  # noqa: ANN001
    return [
        (entry.outcome, entry.response_status, entry.error)
        for entry in response.context["status"].problems
    ]


def counts(response) -> dict[str, int]:  # noqa: ANN001
    return {item.outcome: item.count for item in response.context["status"].counts}


def age(entry: PbxRequest, delta: timedelta) -> None:
    """Move a journal row back in time."""
    PbxRequest.objects.filter(pk=entry.pk).update(received_at=entry.received_at - delta)

