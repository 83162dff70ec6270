"""The admin's daily lists (the call log, the callbacks, the PBX request journal) made to fit a
laptop: one-line cells whose full text is a click or a hover away, and the filters folded into
a "Filter" button (calls/static/calls/lists.css, templates/admin/calls/compact_change_list.html).
"""
from datetime import datetime

from django.contrib import admin
from django.contrib.admin.views.main import ChangeList
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.formats import date_format, localize
from django.utils.html import format_html
from django.utils.safestring import SafeString


class CompactList(admin.ModelAdmin):
    """A change list whose rows stay one line tall and whose filters fold into a button."""

    change_list_template = "admin/calls/compact_change_list.html"

    class Media:
        css = {"all": ["calls/lists.css"]}
        js = ["calls/lists.js"]

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None):  # noqa: ANN201
        response = super().changelist_view(request, extra_context)
        if isinstance(response, TemplateResponse) and "cl" in (response.context_data or {}):
            response.context_data["filters_applied"] = filters_applied(response.context_data["cl"])
        return response


def filters_applied(changelist: ChangeList) -> list[str]:
    """What the list is filtered by, as its filters say it ("open", "me"): for each filter
    whose first choice ("All", "Any date") is not the selected one, the selected choices."""
    applied = []
    for spec in changelist.filter_specs:
        choices = list(spec.choices(changelist))
        if choices and not choices[0]["selected"]:
            applied += [str(choice["display"]) for choice in choices if choice["selected"]]
    return applied


def moment(when: datetime | None, *, seconds: bool = False) -> SafeString | str:
    """A time in a few characters: today's as its time, this year's without the year; the
    full date and time in its title."""
    if when is None:
        return "-"
    local = timezone.localtime(when)
    today = timezone.localdate()
    clock = "H:i:s" if seconds else "H:i"
    if local.date() == today:
        short = date_format(local, clock)
    elif local.year == today.year:
        short = date_format(local, f"{_day_month_format()} {clock}")
    else:
        short = date_format(local, "SHORT_DATE_FORMAT")
    return format_html('<time datetime="{}" title="{}">{}</time>', local.isoformat(),
                       localize(local), short)


def _day_month_format() -> str:
    """The day and month of the language's short date ("d.m" in Russian, "m/d" in English)."""
    short = date_format(datetime(2001, 11, 22), "SHORT_DATE_FORMAT")
    return "m/d" if short.startswith("11") else "d.m"


def one_line(text: str, *, url: str = "") -> SafeString | str:
    """Text cut to the cell's width with an ellipsis (by CSS), whole in its title; a link to
    `url` if given."""
    if not text:
        return "-"
    if url:
        return format_html('<a class="xvb-line" href="{}" title="{}">{}</a>', url, text, text)
    return format_html('<span class="xvb-line" title="{}">{}</span>', text, text)


def unfolding(text: str) -> SafeString | str:
    """Text shown as one line that opens a pop-up with the whole of it on a click (or a key:
    it is a <details>), whole in its title too."""
    if not text:
        return "-"
    return format_html(
        '<details class="xvb-unfold"><summary class="xvb-line" title="{}">{}</summary>'
        '<div class="xvb-pop">{}</div></details>',
        text, text, text,
    )


def talk_time(seconds: int | None) -> str:
    """Seconds as a clock: 0:41, 1:35, 1:02:05."""
    if seconds is None:
        return "-"
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


ARROWS = {"in": "↙", "out": "↗"}


def direction_icon(direction: str, label: str) -> SafeString | str:
    """An arrow for the call's direction, its name for screen readers and in its title."""
    if not direction:
        return "-"
    return format_html(
        '<span class="xvb-dir xvb-dir-{}" role="img" aria-label="{}" title="{}">{}</span>',
        direction, label, label, ARROWS.get(direction, "?"),
    )
