"""Our copy of a recording over HTTP: logged-in users only, byte ranges, every listen logged."""
from collections.abc import Iterator
from typing import IO

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.core.files.storage import default_storage
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from rest_framework.authentication import TokenAuthentication
from rest_framework.exceptions import AuthenticationFailed

from calls.models import Call, Recording, RecordingListen
from calls.recordings.services import EXTENSIONS, can_listen, log_listen
from xvbcrm.net import request_client_address

CHUNK_BYTES = 64 * 1024


class RangeNotSatisfiable(Exception):
    """The range starts past the end of the file: 416."""


def parse_range(header: str, size: int) -> tuple[int, int] | None:
    """The inclusive byte range (first, last) of a single-range `Range` header, or None to
    send the whole file (no header, several ranges, or a malformed one, which RFC 9110 lets
    a server ignore); raises RangeNotSatisfiable when it starts past the end."""
    unit, _, spec = header.strip().partition("=")
    if unit.strip().lower() != "bytes" or "," in spec:
        return None
    first, dash, last = spec.strip().partition("-")
    if not dash or not (first.isdigit() or first == "") or not (last.isdigit() or last == ""):
        return None
    if first == "":  # the last N bytes
        if last == "":
            return None
        if int(last) == 0 or size == 0:
            raise RangeNotSatisfiable
        return max(size - int(last), 0), size - 1
    start = int(first)
    if last and int(last) < start:
        return None
    if start >= size:
        raise RangeNotSatisfiable
    return start, min(int(last) if last else size - 1, size - 1)


def _user(request: HttpRequest) -> AbstractBaseUser | AnonymousUser:
    """The session's user, or the API's (`Authorization: Token …`)."""
    if request.user.is_authenticated:
        return request.user
    try:
        found = TokenAuthentication().authenticate(request)
    except AuthenticationFailed:
        found = None
    return found[0] if found else request.user


def _chunks(stream: IO[bytes], start: int, length: int) -> Iterator[bytes]:
    try:
        stream.seek(start)
        while length > 0:
            chunk = stream.read(min(CHUNK_BYTES, length))
            if not chunk:
                break
            length -= len(chunk)
            yield chunk
    finally:
        stream.close()


def _refuse(status: int, message: str) -> HttpResponse:
    return HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")


@never_cache
@require_safe
def play(request: HttpRequest, call_id: int) -> HttpResponse:
    """GET: the archived recording of a call, whole (200) or a byte range (206)."""
    user = _user(request)
    if not user.is_authenticated:
        return _refuse(403, "Log in to listen to recordings.")
    call = Call.objects.filter(pk=call_id).first()
    if call is None or not can_listen(user, call):
        # The same answer for a call that does not exist: ids are not worth probing.
        return _refuse(403, "You may not listen to this call.")
    recording = Recording.objects.filter(call=call, status=Recording.Status.ARCHIVED).first()
    if recording is None or not recording.file:
        return _refuse(404, "This call's recording is not archived.")
    size = recording.size or default_storage.size(recording.file.name)
    download = request.GET.get("download") == "1"
    try:
        byte_range = parse_range(request.headers.get("Range", ""), size)
    except RangeNotSatisfiable:
        response = _refuse(416, "Range not satisfiable.")
        response["Content-Range"] = f"bytes */{size}"
        response["Accept-Ranges"] = "bytes"
        return response
    start, end = byte_range or (0, size - 1)
    if request.method == "GET":
        # Every request that sends audio, whatever its range: log_listen makes it one row per
        # listen or download (HEAD and 416 send none).
        kind = RecordingListen.Kind.DOWNLOAD if download else RecordingListen.Kind.PLAY
        log_listen(recording=recording, user=user, kind=kind, from_start=start == 0,
                   client_address=request_client_address(request))
    stream = default_storage.open(recording.file.name, "rb")
    body = _chunks(stream, start, end - start + 1) if request.method == "GET" else iter(())
    if request.method != "GET":
        stream.close()
    response = StreamingHttpResponse(
        body, status=206 if byte_range else 200,
        content_type=recording.content_type or "application/octet-stream",
    )
    response["Content-Length"] = str(end - start + 1)
    response["Accept-Ranges"] = "bytes"
    if byte_range:
        response["Content-Range"] = f"bytes {start}-{end}/{size}"
    filename = f"call-{call.pk}{EXTENSIONS.get(recording.content_type, '')}"
    response["Content-Disposition"] = (
        f'{"attachment" if download else "inline"}; filename="{filename}"'
    )
    return response
