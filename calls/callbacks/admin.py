"""The callbacks' list in the admin: "mine and open" first, closed by a call or by hand."""
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.timesince import timesince
from django.utils.translation import gettext_lazy as _

from calls import lists
from calls.callbacks.services import close_callback
from calls.clicktocall.admin import call_button, can_place_calls
from calls.models import Callback
from contacts.phones import normalize_phone
from xvbcrm.admin import PhoneSearchMixin


class DefaultFilter(admin.SimpleListFilter):
    """A list filter with a default choice, and an explicit "All" to see everything."""

    ALL = "all"

    def __init__(self, request: HttpRequest, params: dict, model: type, model_admin: object):
        self.request = request
        super().__init__(request, params, model, model_admin)

    def default(self) -> str | None:
        return None

    def value(self) -> str | None:
        return super().value() or self.default()

    def choices(self, changelist: object):  # noqa: ANN201
        yield {
            "selected": self.value() in (None, self.ALL),
            "query_string": changelist.get_query_string({self.parameter_name: self.ALL}),
            "display": _("All"),
        }
        for lookup, title in self.lookup_choices:
            yield {
                "selected": self.value() == lookup,
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }


class AssigneeFilter(DefaultFilter):
    """Whose callbacks: an agent sees their own first."""

    title = _("assigned to")
    parameter_name = "assignee"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list:
        return [("mine", _("me")), ("nobody", _("nobody"))]

    def default(self) -> str | None:
        return "mine" if getattr(self.request.user, "agent", None) else None

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == "mine":
            return queryset.filter(agent__user=request.user)
        if self.value() == "nobody":
            return queryset.filter(agent=None)
        return queryset


class StateFilter(DefaultFilter):
    """Open callbacks first: the ones a client is still waiting for."""

    title = _("state")
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list:
        return [("open", _("open")), ("closed", _("closed"))]

    def default(self) -> str | None:
        return "open"

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == "open":
            return queryset.filter(closed_at=None)
        if self.value() == "closed":
            return queryset.exclude(closed_at=None)
        return queryset


@admin.register(Callback)
class CallbackAdmin(PhoneSearchMixin, lists.CompactList):
    """Callbacks owed to clients whose calls were missed; "mine and open" first, oldest first."""

    list_display = [
        "created", "phone_display", "contact_line", "agent_line", "missed_call_link", "waiting",
        "closed",
    ]
    list_filter = [StateFilter, AssigneeFilter, ("agent", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["contact", "agent", "missed_call"]
    search_fields = ["=phone"]
    ordering = ["created_at", "id"]
    show_full_result_count = False
    autocomplete_fields = ["agent"]
    fields = [
        "phone_display", "contact", "agent", "missed_call_link", "created_at", "closed_at",
        "closed_by", "waited",
    ]
    readonly_fields = [name for name in fields if name != "agent"]
    actions = ["close_by_hand"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def get_list_display(self, request: HttpRequest) -> list[str]:
        if can_place_calls(request):
            return [*self.list_display, "call_back"]
        return self.list_display

    @admin.action(description=_("Close the selected callbacks (no call needed)"),
                  permissions=["change"])
    def close_by_hand(self, request: HttpRequest, queryset: QuerySet) -> None:
        closed = sum(close_callback(task, by_user=request.user) for task in queryset)
        self.message_user(
            request, _("Callbacks closed: %(count)d.") % {"count": closed}, messages.SUCCESS
        )

    @admin.display(description=_("created"), ordering="created_at")
    def created(self, callback: Callback) -> SafeString | str:
        return lists.moment(callback.created_at)

    @admin.display(description=_("closed"), ordering="closed_at")
    def closed(self, callback: Callback) -> SafeString | str:
        return lists.moment(callback.closed_at)

    @admin.display(description=_("contact"), ordering="contact__name")
    def contact_line(self, callback: Callback) -> SafeString | str:
        return lists.one_line(str(callback.contact or ""))

    @admin.display(description=_("agent"), ordering="agent__extension")
    def agent_line(self, callback: Callback) -> SafeString | str:
        return lists.one_line(str(callback.agent or ""))

    @admin.display(description=_("missed"))
    def missed_call_link(self, callback: Callback) -> str:
        url = reverse("admin:calls_call_change", args=[callback.missed_call_id])
        return format_html('<a href="{}">{}</a>', url, lists.moment(
            callback.missed_call.started_at
        ))

    @admin.display(description=_("client waited"))
    def waiting(self, callback: Callback) -> SafeString | str:
        """How long the client has waited so far, or waited, for the call back: in its
        largest unit, to the minute in the title."""
        now = timezone.now()
        if callback.closed_at is None:  # counted, like `waited`, from the missed call
            since = callback.missed_call.started_at
            short, full = (_("%(time)s so far") % {"time": timesince(since, now, depth=depth)}
                           for depth in (1, 2))
        elif callback.waited is None:  # closed by hand: no call measured the wait
            return "-"
        else:
            short, full = (timesince(now - callback.waited, now, depth=depth) for depth in (1, 2))
        return format_html('<span title="{}">{}</span>', full, short)

    @admin.display(description=_("call back"))
    def call_back(self, callback: Callback) -> SafeString | str:
        if callback.closed_at is not None or not normalize_phone(callback.phone):
            return ""
        return call_button(callback.phone, label=_("Call back"))
