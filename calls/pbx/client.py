"""The CRM → PBX side: `makeCall` to the cloud PBX address, never retried."""
import json
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as DeadlineExceeded
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.utils.translation import gettext as _

from contacts.phones import pbx_digits

# One session for the process: keeps the connection to the PBX warm between clicks.
_session = requests.Session()
# requests' timeout bounds each socket read, not the answer: a PBX sending it byte by byte
# would hold the click for ever. The request runs here, waited for up to a deadline.
_senders = ThreadPoolExecutor(max_workers=8, thread_name_prefix="makecall")

CALLID_KEYS = ("uuid", "callid", "call_id", "id")
MAX_ANSWER_CHARS = 2000


class PbxClientError(Exception):
    """A makeCall that did not start a call; the message is fit to show to a person."""

    answer: str = ""  # the PBX's response body, truncated, when there was one


class PbxNotConfigured(PbxClientError):
    """PBX_URL or PBX_TOKEN is empty."""


class PbxUnreachable(PbxClientError):
    """No answer from the PBX: connection failed or timed out."""


class PbxRefused(PbxClientError):
    """The PBX answered 4xx; the message carries its own `error` text."""


class PbxBroken(PbxClientError):
    """The PBX answered 5xx, or a success whose body is not a JSON object."""


@dataclass(frozen=True)
class MakeCallResult:
    answer: dict
    callid: str


def redact(text: str) -> str:
    """`text` with the PBX token blanked out, in case the PBX echoes it back."""
    token = settings.PBX_TOKEN
    return text.replace(token, "[redacted]") if token else text


def _with_answer(error: PbxClientError, body: str) -> PbxClientError:
    error.answer = redact(body)[:MAX_ANSWER_CHARS]
    return error


def _json_object(body: str) -> dict | None:
    try:
        data = json.loads(body)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def _callid_of(answer: dict) -> str:
    for key in CALLID_KEYS:
        value = answer.get(key)
        if isinstance(value, str | int) and not isinstance(value, bool) and str(value).strip():
            return str(value).strip()[:128]
    return ""


def _post(url: str, data: dict[str, str]) -> requests.Response:
    timeout = settings.PBX_TIMEOUT
    host = urlsplit(url).hostname or url  # never the whole URL: it may carry credentials
    sent = _senders.submit(_session.post, url, data=data, timeout=timeout, allow_redirects=False)
    try:
        # Connecting may take `timeout`, and so may the answer: never more than both.
        return sent.result(timeout=2 * timeout)
    except (requests.Timeout, DeadlineExceeded) as exc:
        raise PbxUnreachable(
            _("The PBX at %(host)s did not answer within %(seconds)s s.")
            % {"host": host, "seconds": f"{timeout:g}"}
        ) from exc
    except requests.ConnectionError as exc:
        raise PbxUnreachable(
            _("Cannot connect to the PBX at %(host)s (connection failed).") % {"host": host}
        ) from exc
    except requests.RequestException as exc:
        raise PbxUnreachable(
            _("Cannot reach the PBX at %(host)s (%(reason)s).")
            % {"host": host, "reason": type(exc).__name__}
        ) from exc


def make_call(*, extension: str, phone_e164: str) -> MakeCallResult:
    """Ask the PBX to ring `extension`, then dial `phone_e164`; raises a PbxClientError."""
    url, token = settings.PBX_URL, settings.PBX_TOKEN
    if not url or not token:
        raise PbxNotConfigured(
            _("Click-to-call is not configured: set PBX_URL and PBX_TOKEN.")
        )
    # The PBX takes numbers as international digits without `+`.
    data = {"cmd": "makeCall", "token": token, "from": extension, "to": pbx_digits(phone_e164)}
    response = _post(url, data)
    body = response.text
    answer = _json_object(body)
    status = response.status_code
    if 400 <= status < 500:
        reason = redact(str((answer or {}).get("error") or "").strip())[:200] or f"HTTP {status}"
        error = _("The PBX refused the call: %(reason)s.") % {"reason": reason}
        raise _with_answer(PbxRefused(error), body)
    if not 200 <= status < 300:
        error = _("The PBX failed (HTTP %(status)s).") % {"status": status}
        raise _with_answer(PbxBroken(error), body)
    if answer is None:
        error = _("The PBX answered with something other than JSON.")
        raise _with_answer(PbxBroken(error), body)
    return MakeCallResult(answer=answer, callid=_callid_of(answer))
