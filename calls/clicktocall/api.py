"""`POST /api/click-to-call/`: place a call through the PBX from the API."""
import json

from django.http import HttpRequest
from rest_framework import serializers, status
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from calls.clicktocall.services import ClickToCallError, NotYourExtension, place_call
from calls.models import CallAttempt

# A failed attempt's HTTP status: the PBX is not set up (503), or it failed us (502).
FAILURE_STATUS = {
    CallAttempt.Result.NOT_CONFIGURED: status.HTTP_503_SERVICE_UNAVAILABLE,
    CallAttempt.Result.UNREACHABLE: status.HTTP_502_BAD_GATEWAY,
    CallAttempt.Result.REFUSED: status.HTTP_502_BAD_GATEWAY,
    CallAttempt.Result.BROKEN: status.HTTP_502_BAD_GATEWAY,
}


class CanPlaceCalls(BasePermission):
    """The user holds "Can place calls"."""

    def has_permission(self, request: HttpRequest, view: APIView) -> bool:
        return request.user.has_perm("calls.place_calls")


class ClickToCallSerializer(serializers.Serializer):
    to = serializers.CharField(max_length=64)
    # `from` is a Python keyword: the field is declared under its JSON name below.
    from_ = serializers.CharField(max_length=32, required=False, allow_blank=True)

    def get_fields(self) -> dict:
        fields = super().get_fields()
        fields["from"] = fields.pop("from_")
        return fields


def attempt_data(attempt: CallAttempt) -> dict:
    """The attempt as the API shows it; the PBX's answer as JSON when it is JSON."""
    try:
        answer = json.loads(attempt.pbx_answer) if attempt.pbx_answer else None
    except ValueError:
        answer = attempt.pbx_answer
    return {
        "id": attempt.id,
        "from": attempt.extension,
        "to": attempt.phone,
        "result": attempt.result,
        "pbx_callid": attempt.pbx_callid or None,
        "pbx_answer": answer,
        "created_at": attempt.created_at.isoformat(),
    }


class ClickToCallView(APIView):
    """Ring the caller's extension (`from`: another one, with "Can call from any extension"),
    then the number `to`; the answer is the recorded attempt."""

    permission_classes = [IsAuthenticated, CanPlaceCalls]

    def post(self, request: Request) -> Response:
        form = ClickToCallSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        try:
            attempt = place_call(
                user=request.user,
                to=form.validated_data["to"],
                extension=form.validated_data.get("from") or None,
            )
        except NotYourExtension as exc:
            return Response({"error": str(exc)}, status=status.HTTP_403_FORBIDDEN)
        except ClickToCallError as exc:
            return Response({"error": str(exc)}, status=status.HTTP_400_BAD_REQUEST)
        if attempt.result != CallAttempt.Result.OK:
            return Response(
                {"error": attempt.error, "attempt": attempt_data(attempt)},
                status=FAILURE_STATUS[attempt.result],
            )
        return Response(attempt_data(attempt))
