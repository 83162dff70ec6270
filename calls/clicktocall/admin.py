"""Click-to-call in the admin: the "Call" and "Call back" buttons post here; the attempts' log.

The buttons sit inside the admin's own forms (a contact's page, the call log), so they carry
that form's CSRF token and post it to this view with `formaction`: no nested forms, no script.
"""
from datetime import timedelta

from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponseRedirect
from django.template.loader import render_to_string
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from calls.clicktocall.services import ClickToCallError, NoAgent, place_call
from calls.models import CallAttempt
from contacts.phones import format_phone, normalize_phone
from xvbcrm.admin import PhoneSearchMixin, ReadOnlyAdminMixin

PERMISSION = "calls.place_calls"
# A second press of the same button this soon is a double click, not a second call.
DOUBLE_CLICK = timedelta(seconds=3)


def can_place_calls(request: HttpRequest) -> bool:
    return request.user.has_perm(PERMISSION)


def call_button(to: str, *, label: str | None = None) -> SafeString:
    """A submit button for the page's admin form that asks the CRM to call `to`."""
    return SafeString(
        render_to_string(
            "calls/clicktocall/call_button.html",
            {"url": reverse("admin:calls_place_call"), "to": to, "label": label or _("Call")},
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
    if request.user.has_perm("calls.change_agent"):
        return format_html(
            '{} <a href="{}">{}</a>', error, reverse("admin:calls_agent_changelist"),
            _("Link your user to an agent."),
        )
    return format_html("{} {}", error, _("Ask an administrator to link your user to an agent."))


def back_to(request: HttpRequest) -> str:
    """Where the button was pressed (`next`, else the Referer), when it is this site."""
    for candidate in (request.POST.get("next"), request.headers.get("referer")):
        if candidate and url_has_allowed_host_and_scheme(
            candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            return candidate
    return reverse("admin:index")  # every staff user may see it, whatever else they may


@require_POST
def place_call_view(request: HttpRequest) -> HttpResponseRedirect:
    """POST `to`: call it from the user's extension, then go back where the button was."""
    call_from_admin(request, request.POST.get("to", ""))
    return HttpResponseRedirect(back_to(request))


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
