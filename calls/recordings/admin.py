"""Recordings in the admin: the player of the call log and a call's page, our copies and who
listened to them."""
from collections.abc import Callable

from django.contrib import admin
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from calls.models import Call, Recording, RecordingListen
from calls.recordings.services import can_listen, player_context
from xvbcrm.admin import ReadOnlyAdminMixin


def recording_player(call: Call, user: object) -> SafeString:
    """The call's player for `user`: our archived copy, else what there is to say (and the
    PBX's link for who may listen), else a dash."""
    return SafeString(
        render_to_string("calls/recordings/player.html", player_context(call, user))
    )


def list_player(call: Call, user: object) -> SafeString:
    """The call log's one-line player: a play control opening `recording_player`'s player
    (or its message), shown to exactly whom `recording_player` shows it."""
    return SafeString(
        render_to_string("calls/recordings/list_player.html", player_context(call, user))
    )


def _column_for(request: HttpRequest, render: Callable[[Call, object], SafeString]):  # noqa: ANN202
    """A "recording" column rendered by `render` for the request's user, made once per request
    (the admin asks for it by identity while it builds a page)."""
    columns = request.__dict__.setdefault("_xvb_player_columns", {})
    if render not in columns:

        @admin.display(description=_("recording"))
        def player(call: Call) -> SafeString:
            return render(call, request.user)

        columns[render] = player
    return columns[render]


def list_player_for(request: HttpRequest):  # noqa: ANN202
    """The call log's "recording" column of one request: it depends on the user."""
    return _column_for(request, list_player)


def player_for(request: HttpRequest):  # noqa: ANN202
    """The "recording" column and field of one request's pages: it depends on the user."""
    return _column_for(request, recording_player)


class RecordingListenInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = RecordingListen
    fields = ["at", "username", "kind", "client_address"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    verbose_name_plural = _("listeners")


@admin.register(Recording)
class RecordingAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Our copies of the PBX's recordings: how archiving went, and who listened."""

    list_display = ["call", "status", "size", "content_type", "attempts", "archived_at", "error"]
    list_filter = ["status"]
    list_select_related = ["call"]
    show_full_result_count = False
    inlines = [RecordingListenInline]
    fields = [
        "call", "status", "source_url", "size", "sha256", "content_type", "attempts",
        "first_attempt_at", "last_attempt_at", "next_attempt_at", "archived_at", "deleted_at",
        "error",
    ]
    readonly_fields = fields

    def get_fields(self, request: HttpRequest, obj: Recording | None = None) -> list[str]:
        """The PBX's link only for who may hear the call (recordings.services.can_listen)."""
        if obj is not None and can_listen(request.user, obj.call):
            return self.fields
        return [name for name in self.fields if name != "source_url"]


@admin.register(RecordingListen)
class RecordingListenAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["at", "username", "recording", "kind", "client_address"]
    list_filter = ["kind", "at"]
    search_fields = ["username"]
    list_select_related = ["recording__call"]
    show_full_result_count = False
