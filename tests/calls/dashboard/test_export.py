"""The call log's CSV export: columns, rights on recording links, filters, formulas."""
import csv
import io

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client

from calls.dashboard.views import safe_cell
from calls.models import Call, CallResult
from contacts.models import Agent, Contact
from contacts.services import save_contact
from tests.calls.dashboard.factories import TODAY, at, call

pytestmark = pytest.mark.django_db

EXPORT = "/admin/calls/call/export/"


# --- the CSV export ------------------------------------------------------------------------


def read_csv(response) -> list[list[str]]:  # noqa: ANN001
    body = b"".join(response.streaming_content)
    assert body.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig")), delimiter=";"))


@pytest.fixture
def log(agents) -> dict[str, Call]:
    anna, boris = agents
    contact = save_contact(name="Вася Пупкин", company="Рога и Копыта", phones=["+79201119613"])
    result = CallResult.objects.create(name="Продажа")
    return {
        "answered": call(
            at(TODAY, "10:00"), agent=anna, duration=75, contact=contact, result=result,
            note="Перезвонить в пятницу; «важно»", record_link="https://pbx.example/r/1.mp3",
        ),
        "missed": call(at(TODAY, "11:00"), outcome="missed", phone="+79201119614"),
        "out": call(at(TODAY, "12:00"), direction="out", agent=boris, duration=5,
                    phone="+79201119615"),
    }


def staff_client(username: str, *codenames: str, agent: Agent | None = None) -> Client:
    """A logged-in staff user with these permissions, linked to `agent` if given."""
    user = User.objects.create_user(username, is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    if agent is not None:
        Agent.objects.filter(pk=agent.pk).update(user=user)
    client = Client()
    client.force_login(user)
    return client


def test_export_has_bom_semicolons_and_every_column(log) -> None:
    listener = staff_client("auditor", "view_call", "listen_all_recordings")

    response = listener.get(EXPORT)

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="calls-')
    header, *rows = read_csv(response)
    assert header == ["Started", "Direction", "Client phone", "Contact", "Agent", "Outcome",
                      "Talk time, s", "Result", "Note", "Recording"]
    assert len(rows) == 3
    assert rows[-1] == [
        "2025-05-21 10:00:00", "incoming", "+7 920 111-96-13", "Вася Пупкин (Рога и Копыта)",
        "101 Анна", "answered", "75", "Продажа", "Перезвонить в пятницу; «важно»",
        "https://pbx.example/r/1.mp3",
    ]


def recording_links(client: Client) -> list[str]:
    """The export's recording column: the outgoing, the missed, the answered call."""
    _, *rows = read_csv(client.get(EXPORT))
    return [row[9] for row in rows]


ANSWERED_LINK, OUT_LINK = "https://pbx.example/r/1.mp3", "https://pbx.example/r/3.mp3"


def test_export_gives_no_recording_link_to_who_may_not_listen(viewer: Client, log) -> None:
    assert recording_links(viewer) == ["", "", ""]


def test_export_gives_an_agent_the_links_of_their_own_calls_only(log, agents) -> None:
    anna, boris = agents
    Call.objects.filter(pk=log["out"].pk).update(record_link=OUT_LINK)

    assert recording_links(staff_client("boris", "view_call", agent=boris)) == [OUT_LINK, "", ""]
    assert recording_links(staff_client("anna", "view_call", agent=anna)) == ["", "", ANSWERED_LINK]


def test_export_follows_the_routing_of_the_call_not_todays_responsible(log, agents) -> None:
    anna, boris = agents
    Call.objects.filter(pk=log["answered"].pk).update(agent=None, routed_to=boris)
    Contact.objects.filter(pk=log["answered"].contact_id).update(responsible=anna)

    routed = staff_client("boris", "view_call", agent=boris)
    responsible_today = staff_client("anna", "view_call", agent=anna)

    assert recording_links(routed) == ["", "", ANSWERED_LINK]
    assert recording_links(responsible_today) == ["", "", ""]


def test_export_applies_the_change_lists_filters(viewer: Client, log) -> None:
    rows = read_csv(viewer.get(EXPORT, {"outcome__exact": "missed"}))[1:]
    assert [row[2] for row in rows] == ["+7 920 111-96-14"]

    rows = read_csv(viewer.get(EXPORT, {"direction__exact": "out"}))[1:]
    assert [row[4] for row in rows] == ["102 Борис"]


def test_export_applies_the_change_lists_search(viewer: Client, log) -> None:
    rows = read_csv(viewer.get(EXPORT, {"q": "8 (920) 111-96-15"}))[1:]

    assert [row[2] for row in rows] == ["+7 920 111-96-15"]


def test_export_of_a_period_of_the_dashboard(viewer: Client, log) -> None:
    start = at(TODAY, "11:30")
    rows = read_csv(viewer.get(EXPORT, {"started_at__gte": start.isoformat()}))[1:]

    assert [row[0] for row in rows] == ["2025-05-21 12:00:00"]


def test_export_in_russian(viewer: Client, log) -> None:
    header, *rows = read_csv(viewer.get(EXPORT, HTTP_ACCEPT_LANGUAGE="ru"))

    assert header[0] == "Начало" and header[4] == "Сотрудник"
    assert rows[-1][:2] == ["21.05.2025 10:00:00", "входящий"]
    assert rows[-1][3] == "Вася Пупкин (Рога и Копыта)"


def test_export_with_a_wrong_filter_goes_back_to_the_call_log(viewer: Client) -> None:
    response = viewer.get(EXPORT, {"no_such_field": "1"})

    assert response.status_code == 302 and response["Location"] == "/admin/calls/call/?e=1"


def test_export_needs_the_view_call_permission(stranger: Client) -> None:
    assert stranger.get(EXPORT).status_code == 403


def test_export_neutralises_formulas(viewer: Client) -> None:
    call(at(TODAY, "10:00"), note="=HYPERLINK(\"http://evil\")", phone="=1+2")

    row = read_csv(viewer.get(EXPORT))[1]

    assert row[2] == "'=1+2" and row[8] == "'=HYPERLINK(\"http://evil\")"


def test_safe_cell() -> None:
    assert [safe_cell(text) for text in ("@SUM(A1)", "-1", "+7", "ok", "")] == [
        "'@SUM(A1)", "'-1", "'+7", "ok", ""
    ]


def test_call_log_links_to_the_export_with_its_filters(viewer: Client) -> None:
    html = viewer.get("/admin/calls/call/", {"outcome__exact": "missed", "q": "x"}).content

    assert b'href="/admin/calls/call/export/?outcome__exact=missed&amp;q=x"' in html

