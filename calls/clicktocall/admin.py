"""Click-to-call in the admin: the "Call" and "Call back" buttons post here; the attempts' log.

The buttons sit inside the admin's own forms (a contact's page, the call log), so they carry
that form's CSRF token and post it to this view with `formaction`: no nested forms, no script.
The contact page gets its buttons and its "Call" action here, from the contact admin registered
again with them (the end of this module).
"""
from datetime import timedelta

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponseRedirect
from django.template.loader import render_to_string
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from calls.clicktocall.services import ClickToCallError, NoAgent, place_call
from calls.models import CallAttempt
from contacts.admin import ContactAdmin, ContactPhoneInline
from contacts.models import Contact, ContactPhone
from contacts.phones import format_phone, normalize_phone
from xvbcrm.admin import PhoneSearchMixin, ReadOnlyAdminMixin
from xvbcrm.redirects import back_to

PERMISSION = "calls.place_calls"
# A second press of the same button this soon is a double click, not a second call.
DOUBLE_CLICK = timedelta(seconds=3)


def can_place_calls(request: HttpRequest) -> bool:
    return request.user.has_perm(PERMISSION)


def call_button(to: str, *, label: str | None = None, compact: bool = False) -> SafeString:
    """A submit button for the page's admin form that asks the CRM to call `to`; `compact`:
    an icon the size of a line of text, its label in its title and for screen readers."""
    return SafeString(
        render_to_string(
            "calls/clicktocall/call_button.html",
            {"url": reverse("admin:calls_place_call"), "to": to, "label": label or _("Call"),
             "compact": compact},
        )
    )


def call_from_admin(request: HttpRequest, to: str) -> CallAttempt | None:
    """Place a call for the user and tell them how it went as an admin message."""
    if not can_place_calls(request):
        messages.error(request, _("You do not have permission to place calls."))
        return None
    phone = normalize_phone(to)
    if phone and _just_called(request, phone):
        messages.info(
            request, _("%(phone)s is being called already.") % {"phone": format_phone(phone)}
        )
        return None
    try:
        attempt = place_call(user=request.user, to=to)
    except NoAgent as exc:
        messages.warning(request, _no_agent_message(request, str(exc)))
        return None
    except ClickToCallError as exc:
        messages.error(request, str(exc))
        return None
    if attempt.result == CallAttempt.Result.OK:
        messages.success(
            request,
            _("Calling %(phone)s from %(extension)s…")
            % {"phone": format_phone(attempt.phone), "extension": attempt.extension},
        )
    else:
        messages.error(request, attempt.error)
    return attempt


def _just_called(request: HttpRequest, phone: str) -> bool:
    return CallAttempt.objects.filter(
        user=request.user, phone=phone, result=CallAttempt.Result.OK,
        created_at__gte=timezone.now() - DOUBLE_CLICK,
    ).exists()


def _no_agent_message(request: HttpRequest, error: str) -> SafeString:
    """The error with the way out: the agents list for who may edit it, else whom to ask."""
    if request.user.has_perm("contacts.change_agent"):
        return format_html(
            '{} <a href="{}">{}</a>', error, reverse("admin:contacts_agent_changelist"),
            _("Link your user to an agent."),
        )
    return format_html("{} {}", error, _("Ask an administrator to link your user to an agent."))


@require_POST
def place_call_view(request: HttpRequest) -> HttpResponseRedirect:
    """POST `to`: call it from the user's extension, then go back where the button was."""
    call_from_admin(request, request.POST.get("to", ""))
    return HttpResponseRedirect(
        back_to(request, request.POST.get("next"), request.headers.get("referer"))
    )


@admin.register(CallAttempt)
class CallAttemptAdmin(PhoneSearchMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["created_at", "user", "extension", "phone_display", "result", "error", "call"]
    list_filter = ["result", "created_at"]
    search_fields = ["=extension", "=pbx_callid"]
    list_select_related = ["user", "call"]
    show_full_result_count = False
    fields = [
        "created_at", "user", "extension", "phone", "result", "error", "pbx_answer",
        "pbx_callid", "call",
    ]
    readonly_fields = fields

    def get_urls(self) -> list[URLPattern]:
        # Behind the "Call" and "Call back" buttons of every page (place_call_view above).
        place = path(
            "place/", self.admin_site.admin_view(place_call_view), name="calls_place_call"
        )
        return [place, *super().get_urls()]


# --- the contact page: a "Call" button by each number, a "Call" action in the list -------------
# contacts knows nothing of calls: its admin is registered again here, with click-to-call added.


class ClickToCallPhoneInline(ContactPhoneInline):
    """A contact's numbers, each saved one with a "Call" button for who may place calls."""

    def get_readonly_fields(self, request: HttpRequest, obj: Contact | None = None) -> list[str]:
        readonly = list(super().get_readonly_fields(request, obj))
        return [*readonly, "call"] if can_place_calls(request) else readonly

    @admin.display(description=gettext_lazy("call"))
    def call(self, phone: ContactPhone) -> SafeString | str:
        # Only a saved number: the empty row for a new one has nothing to call yet.
        return call_button(phone.number) if phone.pk else ""


class ClickToCallContactAdmin(ContactAdmin):
    """The contact admin with the "Call" buttons by the numbers and the "Call" action."""

    inlines = [ClickToCallPhoneInline]
    actions = ["call_contact", *ContactAdmin.actions]

    def has_place_calls_permission(self, request: HttpRequest) -> bool:
        return can_place_calls(request)

    @admin.action(description=gettext_lazy("Call"), permissions=["place_calls"])
    def call_contact(self, request: HttpRequest, queryset: QuerySet) -> None:
        """Call the one selected contact's first number."""
        count = queryset.count()
        if count != 1:
            self.message_user(
                request,
                _("Select exactly one contact to call (selected: %(count)d).")
                % {"count": count},
                messages.WARNING,
            )
            return
        contact = queryset.get()
        phone = contact.phones.order_by("id").first()
        if phone is None:
            self.message_user(
                request,
                _("%(contact)s has no phone number to call.") % {"contact": contact},
                messages.ERROR,
            )
            return
        call_from_admin(request, phone.number)


admin.site.unregister(Contact)
admin.site.register(Contact, ClickToCallContactAdmin)
