"""xvbcrm/db/: the lookup's queries compiled once (prepared on PostgreSQL); one-statement
inserts."""
from datetime import UTC, datetime, timedelta

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from calls.models import Call, CallerLookup, PbxRequest
from calls.routing import route_lookup
from contacts.models import Agent, Contact
from contacts.services import save_contact
from xvbcrm.db import CompiledQuery, insert_row, insert_rows, instances, model_columns

pytestmark = pytest.mark.django_db

AGENT = CompiledQuery(
    lambda extension, since: Agent.objects.filter(extension=extension, away_since__gte=since)
    .values_list("extension", "is_active", "is_away", "away_since")[:1],
    extension="sample",
    since=datetime(2001, 2, 3, 4, 5, 6, 7, tzinfo=UTC),
)


def test_runs_with_new_values_and_converts_them_as_the_orm_does():
    away_since = timezone.now() - timedelta(hours=1)
    Agent.objects.create(extension="100", name="Вася", is_away=True, away_since=away_since)
    Agent.objects.create(extension="101", name="Петя")

    row = AGENT.fetch_one(extension="100", since=away_since - timedelta(minutes=1))

    assert row == ("100", True, True, away_since)
    assert [type(value) for value in row[1:3]] == [bool, bool]  # SQLite stores 1 and 0
    assert AGENT.fetch_one(extension="100", since=away_since + timedelta(minutes=1)) is None
    assert AGENT.fetch_one(extension="101", since=away_since) is None


def test_fetch_all_gives_every_row_converted():
    Agent.objects.create(extension="100", name="Вася", is_away=True)
    Agent.objects.create(extension="101", name="Петя")
    agents = CompiledQuery(
        lambda least: Agent.objects.filter(extension__gte=least)
        .order_by("extension").values_list("extension", "is_away"),
        least="~least~",
    )

    assert agents.fetch_all(least="10") == [("100", True), ("101", False)]
    assert agents.fetch_all(least="2") == []


def test_rows_of_model_columns_become_the_models_an_outer_join_missed_none():
    agent = Agent.objects.create(extension="100", name="Вася")
    Contact.objects.create(name="Ромашка", responsible=agent)
    Contact.objects.create(name="Лютик")
    contacts = CompiledQuery(
        lambda name: Contact.objects.filter(name__gte=name).order_by("name").values_list(
            *model_columns(Contact), *model_columns(Agent, "responsible")
        ),
        name="~name~",
    )

    (lutik, nobody), (romashka, responsible) = (
        instances(row, Contact, Agent) for row in contacts.fetch_all(name="")
    )

    assert (lutik.name, nobody) == ("Лютик", None)
    assert (romashka.name, romashka.responsible_id) == ("Ромашка", agent.pk)
    assert (responsible.pk, responsible.extension, responsible.is_away) == (agent.pk, "100", False)
    romashka.name = "Ромашка и Ко"
    romashka.save(update_fields=["name"])  # a model like the ORM's: it saves
    assert Contact.objects.get(pk=romashka.pk).name == "Ромашка и Ко"


def test_a_sample_in_several_places_is_refilled_in_each():
    Agent.objects.create(extension="100", name="100")
    Agent.objects.create(extension="101", name="Петя")
    twice = CompiledQuery(
        lambda value: Agent.objects.filter(extension=value, name=value).values_list("name")[:1],
        value="~sample~",
    )

    assert twice.fetch_one(value="100") == ("100",)
    assert twice.fetch_one(value="101") is None  # its name is not 101


def test_a_sample_that_is_not_a_parameter_fails_loudly():
    unused = CompiledQuery(
        lambda value: Agent.objects.filter(extension="100").values_list("id")[:1],
        value="~sample~",
    )

    with pytest.raises(RuntimeError, match="is not a parameter"):
        unused.fetch_one(value="100")


def test_a_naive_datetime_is_refused_rather_than_read_in_the_wrong_zone():
    with pytest.raises(ValueError, match="naive datetime"):
        AGENT.fetch_one(extension="100", since=datetime(2026, 11, 26, 10, 0))


def test_insert_row_stores_every_field_in_one_statement(django_assert_num_queries):
    call = Call.objects.create(callid="c-1", direction="in", phone="+79201119613",
                               started_at=timezone.now())
    received = timezone.now()
    entry = PbxRequest(
        received_at=received, remote_addr="::1", method="POST",
        headers={"HTTP_USER_AGENT": "АТС"}, body="cmd=contact&phone=79201119613",
        cmd="contact", phone="79201119613", outcome=PbxRequest.Handling.ACCEPTED,
        response_status=200, response_body='{"contact_name": "Вася"}', call=call,
        processed_at=received,
    )

    with django_assert_num_queries(1):
        insert_row(entry)

    assert entry.pk is None
    stored = PbxRequest.objects.get()
    for field in PbxRequest._meta.concrete_fields:
        if not field.primary_key:
            assert getattr(stored, field.attname) == getattr(entry, field.attname), field.name


def test_insert_row_reads_the_new_id_in_the_same_statement(django_assert_num_queries):
    call = Call(callid="c-2", direction="in", phone="+79201119613", started_at=timezone.now())

    with django_assert_num_queries(1):
        insert_row(call, read_id=True)

    assert call.pk == Call.objects.get(callid="c-2").pk
    call.phone = "+79201119614"
    call.save(update_fields=["phone"])  # an UPDATE of that row, as after save()
    assert Call.objects.get().phone == "+79201119614"


def test_insert_rows_stores_all_rows(django_assert_max_num_queries):
    agent = Agent.objects.create(extension="100")
    lookup = CallerLookup(received_at=timezone.now(), phone="79201119613",
                          number="+79201119613", routed_to=agent, route_reason="responsible")
    entry = PbxRequest(received_at=timezone.now(), method="POST", cmd="contact",
                       outcome=PbxRequest.Handling.ACCEPTED, response_status=200)

    # PostgreSQL: one statement; SQLite: two, in a transaction (a savepoint in the test's).
    with django_assert_max_num_queries(1 if connection.vendor == "postgresql" else 4):
        insert_rows(lookup, entry)

    assert CallerLookup.objects.get().routed_to == agent
    assert PbxRequest.objects.get().cmd == "contact"


def test_insert_rows_stores_none_when_one_fails():
    lookup = CallerLookup(received_at=timezone.now(), phone="79201119613",
                          route_reason="unknown")
    broken = PbxRequest(received_at=None, method="POST")  # received_at may not be NULL

    with pytest.raises(IntegrityError), transaction.atomic():  # the test's own transaction
        insert_rows(lookup, broken)                             # stays usable afterwards

    assert not CallerLookup.objects.exists()
    assert not PbxRequest.objects.exists()


@pytest.mark.skipif("connection.vendor != 'postgresql'")
def test_the_lookup_runs_prepared_statements_on_postgresql():
    agent = Agent.objects.create(extension="100", name="Вася")
    save_contact(name="Вася", responsible=agent, phones=["+79201119613"])

    answer = {"contact_name": "Вася", "responsible": "100"}
    for _ in range(2):
        assert route_lookup("+79201119613").payload == answer

    with connection.cursor() as cursor:
        cursor.execute(
            # The lookup's, not an event's (which reads the contact's every column, notes too).
            "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s"
            " AND statement NOT LIKE %s",
            ["%contacts_contactphone%", "%notes%"],
        )
        assert cursor.fetchone() == (1,)


@pytest.fixture
def widened_extension():
    """A migration run while app servers keep their connections: calls_agent.extension's type
    changes under a prepared lookup; the column is put back afterwards."""
    length = Agent._meta.get_field("extension").max_length
    other = connection.copy()

    def alter(new_length: int) -> None:
        with other.cursor() as cursor:
            cursor.execute(
                f"ALTER TABLE calls_agent ALTER COLUMN extension TYPE varchar({new_length})"
            )

    yield lambda: alter(length + 1)
    alter(length)
    other.close()


@pytest.mark.skipif("connection.vendor != 'postgresql'")
@pytest.mark.django_db(transaction=True)
def test_the_lookup_survives_a_migration_that_changed_what_it_reads(widened_extension):
    agent = Agent.objects.create(extension="100", name="Вася")
    save_contact(name="Вася", responsible=agent, phones=["+79201119613"])
    answer = {"contact_name": "Вася", "responsible": "100"}
    assert route_lookup("+79201119613").payload == answer  # prepared on this connection

    widened_extension()

    assert route_lookup("+79201119613").payload == answer
