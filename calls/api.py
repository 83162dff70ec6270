"""REST API for the call log (read-only: calls come from the PBX)."""
import django_filters
from rest_framework import serializers, viewsets

from calls.models import Call
from calls.recordings.services import player_context
from contacts.api import filter_phone


class CallSerializer(serializers.ModelSerializer):
    agent = serializers.SlugRelatedField(slug_field="extension", read_only=True)
    record_link = serializers.SerializerMethodField()
    recording = serializers.SerializerMethodField()
    contact_name = serializers.SerializerMethodField()

    class Meta:
        model = Call
        fields = [
            "callid", "direction", "phone", "line_number", "status", "outcome", "duration",
            "record_link", "recording", "agent", "contact", "contact_name", "started_at",
            "answered_at", "ended_at",
        ]

    def _player(self, call: Call) -> dict:
        """What the requesting user may hear of the call (recordings.services.player_context)."""
        cache = self.context.setdefault("players", {})
        if call.pk not in cache:
            cache[call.pk] = player_context(call, self.context["request"].user)
        return cache[call.pk]

    def get_record_link(self, call: Call) -> str:
        """The PBX's own (unauthenticated) link: only to who may listen, only http(s)."""
        return call.recording_url if self._player(call) else ""

    def get_recording(self, call: Call) -> dict | None:
        """Our copy: its state, and where to play it (with byte ranges) once archived."""
        player = self._player(call)
        if not player:
            return None
        url = player.get("url")
        request = self.context["request"]
        return {"status": player["status"], "url": request.build_absolute_uri(url) if url else None}

    def get_contact_name(self, call: Call) -> str | None:
        return call.contact.display_name if call.contact else None


class CallFilter(django_filters.FilterSet):
    phone = django_filters.CharFilter(field_name="phone", method=filter_phone)
    agent = django_filters.CharFilter(field_name="agent__extension")

    class Meta:
        model = Call
        fields = ["callid", "direction", "outcome"]


class CallViewSet(viewsets.ReadOnlyModelViewSet):
    """`GET /api/calls/`: the call log, newest first."""

    queryset = Call.objects.select_related("agent", "contact", "recording").order_by(
        "-started_at", "-id"
    )
    serializer_class = CallSerializer
    filterset_class = CallFilter
    lookup_field = "callid"
    lookup_value_regex = r"[\x21-\x2e\x30-\x7e]+"  # visible ASCII but `/`, as the protocol accepts
