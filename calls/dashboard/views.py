"""Reporting pages of the admin: the calls dashboard and the call log's CSV export."""
import csv
from collections.abc import Iterable, Iterator
from itertools import chain
from urllib.parse import urlencode

from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ERROR_FLAG
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponseRedirect, StreamingHttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from calls.dashboard import figures
from calls.dashboard.charts import daily_chart, heat_map
from calls.dashboard.periods import PERIODS, parse_period
from calls.models import Call
from calls.recordings.services import can_listen
from contacts.phones import format_phone
from xvbcrm.admin import page_context

PERMISSION = "calls.view_call"
PERIOD_PARAM = "days"
CSV_BATCH = 2000  # rows fetched from the database at a time
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # what a spreadsheet may run as a formula


def dashboard(request: HttpRequest) -> TemplateResponse:
    """`/admin/dashboard/`: calls per day, the per-agent table and the busiest hours."""
    if not request.user.has_perm(PERMISSION):
        raise PermissionDenied
    days = parse_period(request.GET.get(PERIOD_PARAM))
    board = figures.dashboard(days=days)
    context = {
        **page_context(request, app_label="calls", title=gettext_lazy("Calls dashboard")),
        "board": board,
        "daily": daily_chart(board.days),
        "heat": heat_map(board.hours),
        "periods": PERIODS,
        "period_param": PERIOD_PARAM,
        "changelist_url": reverse("admin:calls_call_changelist"),
        # The call log's own date filter, for the log and the export of this period.
        "range_query": urlencode({
            "started_at__gte": board.period.start.isoformat(),
            "started_at__lt": board.period.end.isoformat(),
        }),
    }
    return TemplateResponse(request, "calls/dashboard/dashboard.html", context)


def export_calls(request: HttpRequest) -> StreamingHttpResponse | HttpResponseRedirect:
    """`/admin/calls/call/export/`: the call log as filtered and searched on its page, as CSV.

    UTF-8 with a BOM and `;` between fields: what Excel opens as is in a Russian locale.
    """
    if not request.user.has_perm(PERMISSION):
        raise PermissionDenied
    changelist_url = reverse("admin:calls_call_changelist")
    try:
        changelist = admin.site._registry[Call].get_changelist_instance(request)
    except IncorrectLookupParameters:
        return HttpResponseRedirect(f"{changelist_url}?{ERROR_FLAG}=1")
    calls = changelist.queryset.select_related("contact", "agent", "result")
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response = StreamingHttpResponse(
        csv_lines(call_rows(calls, user=request.user)), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="calls-{stamp}.csv"'
    return response


class _Echo:
    """A file-like object that hands back what csv.writer writes, for streaming."""

    def write(self, value: str) -> str:
        return value


def csv_lines(rows: Iterable[list[str]]) -> Iterator[str]:
    """The BOM, then each row as a `;`-separated CSV line."""
    writer = csv.writer(_Echo(), delimiter=";")
    yield "\ufeff"
    for row in rows:
        yield writer.writerow(row)


def call_rows(calls: QuerySet[Call], *, user: AbstractBaseUser) -> Iterator[list[str]]:
    """The header, then one row per call, read from the database in batches; the recording's
    link only on the calls `user` may listen to (calls.recordings.services.can_listen).

    Labels, the date format and the time zone are those of the request, fixed before the
    response streams (the rows are read after the view and the middleware have returned).
    """
    header = [
        _("started"), _("direction"), _("client phone"), _("contact"), _("agent"),
        _("outcome"), _("talk time, s"), _("result"), _("note"), _("recording"),
    ]
    directions = {value: str(label) for value, label in Call.Direction.choices}
    outcomes = {value: str(label) for value, label in Call.Outcome.choices}
    time_format = formats.get_format("DATETIME_INPUT_FORMATS")[0]
    zone = timezone.get_current_timezone()

    def row(call: Call) -> list[str]:
        started = timezone.localtime(call.started_at, zone).strftime(time_format)
        return [
            started,
            directions.get(call.direction, call.direction),
            _phone(call.phone),
            safe_cell(str(call.contact) if call.contact else ""),
            safe_cell(str(call.agent) if call.agent else ""),
            outcomes.get(call.outcome, call.outcome),
            "" if call.duration is None else str(call.duration),
            safe_cell(str(call.result) if call.result else ""),
            safe_cell(call.note),
            call.recording_url if can_listen(user, call) else "",
        ]

    return chain(
        [[capfirst(label) for label in header]],
        map(row, calls.iterator(chunk_size=CSV_BATCH)),
    )


def _phone(phone: str) -> str:
    """A number the CRM normalized ("+7 920 …") as it is; anything else made harmless."""
    if phone.startswith("+") and phone[1:].isdigit():
        return format_phone(phone)
    return safe_cell(phone)


def safe_cell(text: str) -> str:
    """Text a spreadsheet shows as text: a leading formula character gets an apostrophe."""
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text
