"""The contact's card in the admin: the contact page, with click-to-call's buttons, gets the
client's timeline below its fields and a summary under its title.

contacts knows nothing of calls: the contact admin is registered again here, on click-to-call's
(calls/clicktocall/admin.py), with the card's template and context added.
"""
from django.contrib import admin
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _

from calls.clicktocall.admin import ClickToCallContactAdmin, call_button, can_place_calls
from calls.recordings.admin import recording_player
from calls.timeline.services import CallEntry, Entry, Position, card_summary, timeline_page
from contacts.models import Contact

OLDER = "older"  # the query parameters of the timeline's pages: an entry's Position.token
NEWER = "newer"
VIEW_CALLS = "calls.view_call"  # the card shows the client's calls to who may see the call log
VIEW_CALLBACKS = "calls.view_callback"


class ContactCardAdmin(ClickToCallContactAdmin):
    """The contact admin with click-to-call's buttons, the timeline and the summary."""

    change_form_template = "admin/calls/contact_card/change_form.html"

    class Media:
        css = {"all": ["calls/recording.css", "calls/contact_card.css"]}

    def render_change_form(
        self, request: HttpRequest, context: dict, add: bool = False, change: bool = False,
        form_url: str = "", obj: Contact | None = None,
    ) -> TemplateResponse:
        if obj is not None and obj.pk is not None:
            context.update(card_context(request, obj))
        return super().render_change_form(request, context, add, change, form_url, obj)


def card_context(request: HttpRequest, contact: Contact) -> dict[str, object]:
    """The template's `card` (the summary) and `timeline` (the page, its rows, its links);
    nothing for a user who may not see the call log."""
    if not request.user.has_perm(VIEW_CALLS):
        return {}
    may_call = can_place_calls(request)
    page = timeline_page(
        contact=contact, user=request.user, may_place_calls=may_call,
        older=Position.parse(request.GET.get(OLDER)), newer=Position.parse(request.GET.get(NEWER)),
    )
    return {
        "card": card_summary(contact=contact, page=page),
        "timeline": {
            "rows": [_row(request, entry) for entry in page.entries],
            "older_url": _page_url(request, OLDER, page.older),
            "newer_url": _page_url(request, NEWER, page.newer),
            "newest_url": _page_url(request, None, None) if page.newer else "",
            "link_callbacks": request.user.has_perm(VIEW_CALLBACKS),
        },
    }


def _row(request: HttpRequest, entry: Entry) -> dict[str, object]:
    """An entry and its HTML pieces: the recording's player, the "Call back" button."""
    row: dict[str, object] = {"entry": entry}
    if isinstance(entry, CallEntry):
        if entry.may_listen:
            row["player"] = recording_player(entry.call, request.user)
        if entry.may_call_back:
            row["call_back"] = call_button(entry.call.phone, label=_("Call back"))
    return row


def _page_url(request: HttpRequest, parameter: str | None, position: Position | None) -> str:
    """This page's URL showing the timeline page at `position`, other parameters kept (the
    change list's filters); "" when there is no such page."""
    if parameter is not None and position is None:
        return ""
    query = request.GET.copy()
    query.pop(OLDER, None)
    query.pop(NEWER, None)
    if parameter is not None:
        query[parameter] = position.token
    return f"{request.path}?{query.urlencode()}#timeline" if query else f"{request.path}#timeline"


admin.site.unregister(Contact)
admin.site.register(Contact, ContactCardAdmin)
