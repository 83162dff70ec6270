"""Admin for the call log and the PBX request journal (calls are read-only).

Django's autodiscovery imports this module only: the features' admins (callbacks,
click-to-call, recordings, the contact card) register themselves when it imports them.
"""
from django.contrib import admin, messages
from django.contrib.auth.models import AnonymousUser
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from calls import lists
from calls.callbacks import admin as callbacks_admin  # noqa: F401 - registers its admin
from calls.callbacks.services import is_missed
from calls.clicktocall.admin import call_button, can_place_calls
from calls.models import Call, CallEvent, CallResult, Line, PbxRequest, WebhookThrottle
from calls.pbx import protocol
from calls.pbx.webhook import reprocess
from calls.recordings.admin import list_player_for, player_for, recording_player
from calls.recordings.services import LISTEN_ALL_PERMISSION, can_listen
from calls.search.services import calls_matching
from calls.timeline import admin as timeline_admin  # noqa: F401 - registers the contact card
from contacts.phones import format_phone, lookup_spellings, normalize_phone
from xvbcrm.admin import CappedCountPaginator, ReadOnlyAdminMixin


@admin.register(Line)
class LineAdmin(admin.ModelAdmin):
    list_display = ["number", "name", "default_agent"]
    search_fields = ["number", "name"]
    autocomplete_fields = ["default_agent"]


@admin.register(CallResult)
class CallResultAdmin(admin.ModelAdmin):
    list_display = ["name", "position", "is_active"]
    list_editable = ["position", "is_active"]
    search_fields = ["name"]


class CallEventInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = CallEvent
    fields = ["received_at", "event", "direction", "phone", "ext", "status", "duration"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    verbose_name_plural = _("timeline")


@admin.register(Call)
class CallAdmin(lists.CompactList):
    """The call log. Written by the PBX: only the agent's note and result can be changed."""

    list_display = [
        "started", "number", "contact_link", "agent_link", "outcome_label", "talk_time",
        "result_and_note", "player",
    ]
    # Every agent is offered (a short table), not only those with calls: that would be a
    # DISTINCT over the whole call log on every page view.
    list_filter = ["direction", "outcome", "agent", "started_at", "route_reason", "result"]
    search_fields = ["=callid"]
    search_help_text = _("Phone number in any format, a PBX call id, or the contact's name or "
                         "company.")
    list_select_related = ["contact", "agent", "result", "recording"]
    show_full_result_count = False
    paginator = CappedCountPaginator
    inlines = [CallEventInline]
    fields = [
        "callid", "direction", "phone_display", "line_number", "contact_link", "agent_link",
        "status", "outcome", "duration", "started_at", "answered_at", "ended_at", "player",
        "routed_to", "route_reason", "route_note", "result", "note",
    ]
    readonly_fields = [
        *(name for name in fields if name not in ("result", "note")), "call_back",
    ]

    change_list_template = "admin/calls/call/change_list.html"  # with "Export CSV"

    class Media:
        css = {"all": ["calls/recording.css"]}

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def get_form(self, request: HttpRequest, obj: Call | None = None, **kwargs: object):  # noqa: ANN201
        form = super().get_form(request, obj, **kwargs)
        if "result" in form.base_fields:
            # Retired results are not offered, but a call keeps the one it has.
            current = obj.result_id if obj else None
            form.base_fields["result"].queryset = CallResult.objects.filter(
                Q(is_active=True) | Q(pk=current)
            )
        return form

    def get_list_display(self, request: HttpRequest) -> list:
        shown = [list_player_for(request) if name == "player" else name
                 for name in self.list_display]
        return [*shown, "call_back_icon"] if can_place_calls(request) else shown

    def get_fields(self, request: HttpRequest, obj: Call | None = None) -> list:
        shown = [player_for(request) if name == "player" else name for name in self.fields]
        return [*shown, "call_back"] if can_place_calls(request) else shown

    @admin.display(description=_("recording"))
    def player(self, call: Call) -> SafeString:
        """Named for the admin's checks; each request shows its user's player instead."""
        return recording_player(call, AnonymousUser())

    def get_readonly_fields(self, request: HttpRequest, obj: Call | None = None) -> list:
        return [player_for(request) if name == "player" else name
                for name in self.readonly_fields]

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet, search_term: str
    ) -> tuple[QuerySet, bool]:
        """A number in any format, a PBX call id, or words of the contact's name or company:
        what the header's search finds (calls/search/services.py)."""
        if not search_term.strip():
            return queryset, False
        return calls_matching(queryset, search_term), False

    @admin.display(description=_("started"), ordering="started_at")
    def started(self, call: Call) -> SafeString | str:
        return lists.moment(call.started_at)

    @admin.display(description=_("client phone"), ordering="phone")
    def number(self, call: Call) -> SafeString:
        """The number with an arrow for the call's direction."""
        return format_html("{} {}", lists.direction_icon(call.direction,
                                                         call.get_direction_display()),
                           format_phone(call.phone) or "-")

    @admin.display(description=_("client phone"), ordering="phone")
    def phone_display(self, call: Call) -> str:
        return format_phone(call.phone)

    @admin.display(description=_("contact"), ordering="contact__name")
    def contact_link(self, call: Call) -> SafeString | str:
        if call.contact is None:
            return "-"
        url = reverse("admin:contacts_contact_change", args=[call.contact_id])
        return lists.one_line(str(call.contact), url=url)

    @admin.display(description=_("agent"), ordering="agent__extension")
    def agent_link(self, call: Call) -> SafeString | str:
        if call.agent is None:
            return "-"
        url = reverse("admin:contacts_agent_change", args=[call.agent_id])
        return lists.one_line(str(call.agent), url=url)

    @admin.display(description=_("outcome"), ordering="outcome")
    def outcome_label(self, call: Call) -> SafeString:
        return format_html('<span class="xvb-outcome-{}">{}</span>', call.outcome,
                           call.get_outcome_display())

    @admin.display(description=_("talk time"), ordering="duration")
    def talk_time(self, call: Call) -> str:
        return lists.talk_time(call.duration)

    @admin.display(description=_("note"))
    def result_and_note(self, call: Call) -> SafeString | str:
        """The result and the agent's note on one line; the whole of it unfolds on a click."""
        text = " — ".join(part for part in (str(call.result or ""), call.note) if part)
        return lists.unfolding(text)

    @admin.display(description=_("call back"))
    def call_back(self, call: Call) -> SafeString | str:
        """A button on missed incoming calls from a real number (shown to who may call)."""
        return self._call_back_button(call, compact=False)

    @admin.display(description=_("call back"))
    def call_back_icon(self, call: Call) -> SafeString | str:
        """The call log's "Call back": an icon the height of a line of text."""
        return self._call_back_button(call, compact=True)

    def _call_back_button(self, call: Call, *, compact: bool) -> SafeString | str:
        if not is_missed(call) or not normalize_phone(call.phone):
            return ""
        return call_button(call.phone, label=_("Call back"), compact=compact)


def may_see_links(request: HttpRequest, entry: PbxRequest) -> bool:
    """Whether the journal shows this row's recording link: to who may hear its call."""
    if entry.call_id is None:
        return request.user.has_perm(LISTEN_ALL_PERMISSION)
    return can_listen(request.user, entry.call)


@admin.register(WebhookThrottle)
class WebhookThrottleAdmin(admin.ModelAdmin):
    """Sources refused for wrong access codes; deleting a row lifts its throttle at once."""

    list_display = ["source", "failures", "window_start", "refused"]
    search_fields = ["=source"]
    ordering = ["-window_start"]

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(PbxRequest)
class PbxRequestAdmin(ReadOnlyAdminMixin, lists.CompactList):
    list_display = [
        "received", "outcome", "response_status", "cmd", "event", "callid_line", "phone",
        "remote_line",
    ]
    list_filter = ["outcome", "cmd", "received_at"]
    search_fields = ["=callid", "=phone"]
    show_full_result_count = False
    actions = ["reprocess_failed"]
    readonly_fields = [
        "received_at", "remote_addr", "method", "cmd", "event", "callid", "phone", "outcome",
        "response_status", "response_body", "error", "call", "processed_at", "body",
        "body_bytes", "headers",
    ]
    fields = readonly_fields

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet, search_term: str
    ) -> tuple[QuerySet, bool]:
        # The journal keeps phones as the PBX sent them.
        e164 = normalize_phone(search_term)
        if e164:
            return queryset.filter(phone__in=lookup_spellings(e164)), False
        return super().get_search_results(request, queryset, search_term)

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        # The changelist needs it for the re-process action; a row's own page stays read-only.
        return obj is None and request.user.has_perm("calls.change_pbxrequest")

    def get_fields(self, request: HttpRequest, obj: PbxRequest | None = None) -> list[str]:
        return self.get_readonly_fields(request, obj)

    def get_readonly_fields(self, request: HttpRequest, obj: PbxRequest | None = None) -> list:
        """The body as received, its recording link hidden from who may not hear the call."""
        if obj is None or may_see_links(request, obj):
            return self.readonly_fields
        return ["body_without_links" if name == "body" else name
                for name in self.readonly_fields]

    @admin.display(description=_("received"), ordering="received_at")
    def received(self, entry: PbxRequest) -> SafeString | str:
        return lists.moment(entry.received_at, seconds=True)

    @admin.display(description=_("PBX call id"), ordering="callid")
    def callid_line(self, entry: PbxRequest) -> SafeString | str:
        return lists.one_line(entry.callid)

    @admin.display(description=_("remote address"), ordering="remote_addr")
    def remote_line(self, entry: PbxRequest) -> SafeString | str:
        return lists.one_line(entry.remote_addr or "")

    @admin.display(description=_("body"))
    def body_without_links(self, entry: PbxRequest) -> str:
        return protocol.hide_recording_links(entry.body)

    @admin.action(description=_("Re-process the selected failed requests"),
                  permissions=["change"])
    def reprocess_failed(self, request: HttpRequest, queryset: QuerySet) -> None:
        done = failed = skipped = 0
        for entry in queryset.order_by("received_at", "id"):
            if entry.outcome != PbxRequest.Handling.FAILED:
                skipped += 1
                continue
            try:
                handled = reprocess(entry)
            except (ValueError, protocol.PbxProtocolError) as exc:
                self.message_user(request, f"{entry}: {exc}", messages.WARNING)
                failed += 1
                continue
            if handled.outcome == PbxRequest.Handling.FAILED:
                failed += 1
            else:
                done += 1
        self.message_user(
            request,
            _("Re-processed: %(done)d, still failing: %(failed)d, not failed (skipped): "
              "%(skipped)d.") % {"done": done, "failed": failed, "skipped": skipped},
            messages.SUCCESS if not failed else messages.WARNING,
        )
