"""Listening to our copy: who may, byte ranges for seeking, one audit row per listen."""
from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib.auth.models import Permission, User
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.test import Client
from django.utils import timezone

from calls.models import Call, Recording, RecordingListen
from calls.recordings.services import LISTEN_SLOT_SECONDS, log_listen, player_context
from calls.recordings.views import RangeNotSatisfiable, parse_range
from contacts.models import Agent, Contact
from tests.conftest import token_client

pytestmark = pytest.mark.django_db

AUDIO = bytes(range(256)) * 4  # 1024 bytes, each position recognisable
LINK = "https://vpbx.example.com/ui/msg_download/1.mp3"


@pytest.fixture(autouse=True)
def media(settings, tmp_path) -> Path:  # noqa: ANN001
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def person(username: str, *, extension: str | None = None, perm: bool = False) -> User:
    user = User.objects.create_user(username, is_staff=True)  # no password: fast
    if extension:
        Agent.objects.create(extension=extension, user=user)
    if perm:
        user.user_permissions.add(Permission.objects.get(codename="listen_all_recordings"))
    return user


@pytest.fixture
def call() -> Call:
    """Routed to agent 104, answered by agent 100; its contact's responsible is now 101."""
    talker = Agent.objects.create(extension="100")
    owner = Agent.objects.create(extension="101")
    routed = Agent.objects.create(extension="104")
    contact = Contact.objects.create(name="Вася", responsible=owner)
    return Call.objects.create(callid="c1", started_at=timezone.now(), agent=talker,
                               routed_to=routed, contact=contact, record_link=LINK)


@pytest.fixture
def recording(call: Call) -> Recording:
    name = default_storage.save("recordings/c1.wav", ContentFile(AUDIO))
    return Recording.objects.create(
        call=call, source_url=LINK, status=Recording.Status.ARCHIVED, file=name,
        size=len(AUDIO), content_type="audio/wav", archived_at=timezone.now(),
    )


def as_user(user: User | None) -> Client:
    client = Client(REMOTE_ADDR="192.0.2.15")
    if user is not None:
        client.force_login(user)
    return client


def url(call: Call) -> str:
    return f"/recordings/{call.pk}/"


def body(response) -> bytes:  # noqa: ANN001
    return b"".join(response.streaming_content)


# --- who may listen -------------------------------------------------------------------------------


def users() -> dict[str, User | None]:
    """Everyone of the matrix; agents 100 and 101 are made by the `call` fixture."""
    talker = person("talker")
    Agent.objects.filter(extension="100").update(user=talker)
    owner = person("owner")
    Agent.objects.filter(extension="101").update(user=owner)
    routed = person("routed")
    Agent.objects.filter(extension="104").update(user=routed)
    return {
        "superuser": User.objects.create_superuser("root", password=None),
        "listen-all": person("auditor", perm=True),
        "answered": talker,
        "routed-to": routed,
        "responsible-today": owner,
        "other-agent": person("other", extension="102"),
        "no-agent": person("clerk"),
        "anonymous": None,
    }


ALLOWED = {"superuser", "listen-all", "answered", "routed-to"}


@pytest.mark.parametrize(
    "who", ["superuser", "listen-all", "answered", "routed-to", "responsible-today",
            "other-agent", "no-agent", "anonymous"],
)
def test_permission_matrix(recording, who):
    user = users()[who]

    response = as_user(user).get(url(recording.call))

    assert response.status_code == (200 if who in ALLOWED else 403)
    if who in ALLOWED:
        assert body(response) == AUDIO
    else:
        assert response["Content-Type"].startswith("text/plain")
        assert not RecordingListen.objects.exists()


def test_an_agent_who_made_an_outgoing_call_may_listen(recording):
    maker = person("maker", extension="103")
    Call.objects.filter(pk=recording.call.pk).update(agent=maker.agent, contact=None)

    assert as_user(maker).get(url(recording.call)).status_code == 200


def test_making_oneself_responsible_gains_no_past_recording(recording):
    """The right follows the call as it happened, not the contact's responsible today."""
    taker = person("taker", extension="105")
    Contact.objects.filter(pk=recording.call.contact_id).update(responsible=taker.agent)

    assert as_user(taker).get(url(recording.call)).status_code == 403
    assert player_context(recording.call, taker) == {}


def test_the_agent_a_call_was_routed_to_keeps_it_after_the_contact_is_reassigned(recording):
    routed = person("routed")
    Agent.objects.filter(extension="104").update(user=routed)
    Contact.objects.filter(pk=recording.call.contact_id).update(responsible=None)

    assert as_user(routed).get(url(recording.call)).status_code == 200


def test_an_inactive_user_may_not_listen(recording):
    user = person("gone", perm=True)
    client = as_user(user)
    User.objects.filter(pk=user.pk).update(is_active=False)

    assert client.get(url(recording.call)).status_code == 403


def test_a_call_not_archived_is_404_for_those_allowed(call):
    assert as_user(person("auditor", perm=True)).get(url(call)).status_code == 404


def test_a_missing_call_is_403_like_a_forbidden_one():
    assert as_user(person("auditor", perm=True)).get("/recordings/999/").status_code == 403


def test_the_api_plays_it_with_a_token(recording):
    response = token_client(person("auditor", perm=True)).get(url(recording.call))

    assert response.status_code == 200
    assert body(response) == AUDIO


# --- byte ranges ----------------------------------------------------------------------------------


@pytest.fixture
def auditor() -> Client:
    return as_user(person("auditor", perm=True))


def test_without_range_the_whole_file(auditor, recording):
    response = auditor.get(url(recording.call))

    assert response.status_code == 200
    assert (response["Accept-Ranges"], response["Content-Length"]) == ("bytes", "1024")
    assert response["Content-Type"] == "audio/wav"
    assert response["Content-Disposition"].startswith("inline")
    assert "no-cache" in response["Cache-Control"] or "private" in response["Cache-Control"]


def test_the_first_bytes(auditor, recording):
    response = auditor.get(url(recording.call), HTTP_RANGE="bytes=0-9")

    assert response.status_code == 206
    assert response["Content-Range"] == "bytes 0-9/1024"
    assert response["Content-Length"] == "10"
    assert body(response) == AUDIO[:10]


def test_a_middle_range(auditor, recording):
    response = auditor.get(url(recording.call), HTTP_RANGE="bytes=300-555")

    assert response.status_code == 206
    assert response["Content-Range"] == "bytes 300-555/1024"
    assert body(response) == AUDIO[300:556]


def test_an_open_range_and_a_suffix(auditor, recording):
    opened = auditor.get(url(recording.call), HTTP_RANGE="bytes=1000-")
    suffix = auditor.get(url(recording.call), HTTP_RANGE="bytes=-24")

    assert (opened["Content-Range"], body(opened)) == ("bytes 1000-1023/1024", AUDIO[1000:])
    assert (suffix["Content-Range"], body(suffix)) == ("bytes 1000-1023/1024", AUDIO[1000:])


def test_a_range_past_the_end_is_416(auditor, recording):
    response = auditor.get(url(recording.call), HTTP_RANGE="bytes=1024-2000")

    assert response.status_code == 416
    assert response["Content-Range"] == "bytes */1024"


def test_a_range_ending_past_the_end_is_cut(auditor, recording):
    response = auditor.get(url(recording.call), HTTP_RANGE="bytes=1020-5000")

    assert (response.status_code, response["Content-Range"]) == (206, "bytes 1020-1023/1024")


@pytest.mark.parametrize(
    ("header", "expected"),
    [("", None), ("bytes=0-0", (0, 0)), ("bytes=5-", (5, 9)), ("bytes=-3", (7, 9)),
     ("bytes=-30", (0, 9)), ("bytes=0-1,4-5", None), ("bytes=5-2", None), ("items=0-1", None),
     ("bytes=x-1", None), ("bytes=-", None)],
)
def test_parse_range(header, expected):
    assert parse_range(header, 10) == expected


@pytest.mark.parametrize("header", ["bytes=10-", "bytes=10-12", "bytes=-0"])
def test_parse_range_unsatisfiable(header):
    with pytest.raises(RangeNotSatisfiable):
        parse_range(header, 10)


# --- the audit log --------------------------------------------------------------------------------


def test_a_listen_of_many_range_requests_writes_one_row(recording):
    user = person("auditor", perm=True)
    client = as_user(user)

    for header in ("bytes=0-", "bytes=0-", "bytes=512-", "bytes=-100"):
        assert client.get(url(recording.call), HTTP_RANGE=header).status_code == 206
    client.head(url(recording.call))

    row = RecordingListen.objects.get()
    assert (row.recording, row.user, row.username) == (recording, user, "auditor")
    assert (row.kind, row.client_address) == ("play", "192.0.2.15")


def test_behind_a_trusted_proxy_the_log_keeps_the_client_it_saw(recording, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    client = as_user(person("auditor", perm=True))

    client.get(url(recording.call), HTTP_X_FORWARDED_FOR="203.0.113.9, 198.51.100.7")

    assert RecordingListen.objects.get().client_address == "198.51.100.7"


def test_every_download_is_logged(auditor, recording):
    for _ in range(2):
        response = auditor.get(url(recording.call), {"download": "1"})
        disposition = f'attachment; filename="call-{recording.call.pk}.wav"'
        assert response["Content-Disposition"] == disposition
    auditor.get(url(recording.call), {"download": "1"}, HTTP_RANGE="bytes=512-")  # resumed

    assert list(RecordingListen.objects.values_list("kind", flat=True)) == ["download"] * 2


# Every shape a first request may take: none may skip the audit.
FIRST_RANGES = ["", "bytes=0-", "bytes=0-9", "bytes=100-", "bytes=100-200", "bytes=-24",
                "bytes=-5000", "bytes=0-1,4-5", "bytes=100-200,300-400", "bytes=9-3",
                "items=100-", "garbage"]


@pytest.mark.parametrize("download", [False, True], ids=["play", "download"])
@pytest.mark.parametrize("header", FIRST_RANGES)
def test_any_first_request_is_logged_once(auditor, recording, header, download):
    query = {"download": "1"} if download else {}

    first = auditor.get(url(recording.call), query, HTTP_RANGE=header)
    body(first)
    for later in ("bytes=512-", "bytes=-100", "bytes=600-700"):  # the same listen goes on
        assert auditor.get(url(recording.call), query, HTTP_RANGE=later).status_code == 206

    assert first.status_code in (200, 206)
    kind = "download" if download else "play"
    assert list(RecordingListen.objects.values_list("kind", flat=True)) == [kind]


@pytest.mark.parametrize("download", [False, True], ids=["play", "download"])
def test_requests_that_send_no_audio_are_not_listens(auditor, recording, download):
    query = {"download": "1"} if download else {}

    head = auditor.head(url(recording.call), query)
    past_the_end = auditor.get(url(recording.call), query, HTTP_RANGE="bytes=5000-")

    assert (head.status_code, past_the_end.status_code) == (200, 416)
    assert b"".join(head.streaming_content) == b""
    assert not RecordingListen.objects.exists()


def test_a_resumed_download_long_after_the_first_is_logged_again(recording):
    user = person("auditor", perm=True)
    earlier = timezone.now() - timedelta(seconds=LISTEN_SLOT_SECONDS + 1)
    log_listen(recording=recording, user=user, kind="download", client_address=None,
               now=earlier)

    as_user(user).get(url(recording.call), {"download": "1"}, HTTP_RANGE="bytes=512-")

    assert RecordingListen.objects.filter(kind="download").count() == 2


def test_two_users_make_two_rows(recording):
    as_user(person("a", perm=True)).get(url(recording.call))
    as_user(person("b", perm=True)).get(url(recording.call))

    assert RecordingListen.objects.count() == 2


# --- what the admin's player gets -----------------------------------------------------------------


def test_player_context_archived_and_allowed(recording):
    context = player_context(recording.call, person("auditor", perm=True))

    assert context["url"] == url(recording.call)
    assert context["download_url"] == f"{url(recording.call)}?download=1"


def test_player_context_not_archived_yet_offers_the_pbx_link(call):
    Recording.objects.create(call=call, source_url=LINK)

    context = player_context(call, person("auditor", perm=True))

    assert context["message"] == "Not archived yet."
    assert context["pbx_url"] == LINK
    assert "url" not in context


def test_player_context_lost_says_why(call):
    Recording.objects.create(call=call, source_url=LINK, status=Recording.Status.LOST,
                             error="recording lost after 30 attempts: HTTP 404")

    context = player_context(call, person("auditor", perm=True))

    assert context["message"] == "Recording lost."
    assert "HTTP 404" in context["error"] and "pbx_url" not in context


def test_player_context_is_empty_for_others(recording):
    assert player_context(recording.call, person("other", extension="102")) == {}


def test_player_context_is_empty_without_a_recording():
    call = Call.objects.create(callid="silent", started_at=timezone.now())

    assert player_context(call, User.objects.create_superuser("root", password=None)) == {}
