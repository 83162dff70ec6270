"""The fast path for big files (a reader process, raw SQL, on PostgreSQL writer threads): rows
land as by the plain path, and as if they were saved one by one."""
import io
import os
import time

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contacts.importing import pipelining, planning, reading, sql_writing
from contacts.importing.reading import RowError
from contacts.importing.service import import_contacts
from contacts.importing.summary import ImportSummary
from contacts.models import Agent, Contact
from contacts.services import find_contact_by_phone, save_contact

pytestmark = pytest.mark.django_db

HEADER = "name;company;phones;responsible;email\r\n"
ENGLISH_UTF8 = (
    "name,company,phones,responsible,email\n"
    'Ivan Petrov,Romashka LLC,"+7 920 111-96-13; 8 (920) 222-33-44",101,ivan@example.com\n'
)


# Rows whose numbers and names land on contacts of earlier batches (batch size 1 to 3), on a
# contact stored before, and a bad row: every way a batch depends on the ones before it.
MERGES = HEADER + (
    "Ivan;;9201110001;101;\r\n"
    "Ivan;Romashka;9201110001, 9201110002;;ivan@example.ru\r\n"
    "Petr;;9201110003;102;\r\n"
    "Petr Jr;;9201110002, 9201110003;;\r\n"
    "Anna;Lutik;;;\r\n"
    "Anna;Lutik;;103;anna@example.ru\r\n"
    "Stored One;Stored Co;9201119613;;\r\n"
    ";Romashka;9201110004;;\r\n"
    "Bad;;12;;\r\n"
    "Petr Jr;;9201110005, 9201110001;104;\r\n"
    "Petr;;9201110003;;\r\n"
    "Anna;Lutik;9201110006;;\r\n"
)


def snapshot() -> list[tuple]:
    """Every contact with its agent's extension and its numbers, without ids, sorted."""
    contacts = Contact.objects.select_related("responsible").prefetch_related("phones")
    return sorted(
        (
            c.name, c.company, c.email, c.responsible.extension if c.responsible else "",
            tuple(phone.number for phone in c.phones.all()),
        )
        for c in contacts
    )


def import_in_turn(data: str, batch_size: int) -> tuple[ImportSummary, list[tuple]]:
    """Import by the plain path inside a transaction (batch after batch), rolled back."""
    with transaction.atomic():
        summary = import_contacts(io.BytesIO(data.encode()), batch_size=batch_size, fast=False)
        landed = snapshot()
        transaction.set_rollback(True)
    return summary, landed


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("batch_size", [1, 2, 3, 500])
def test_batches_land_alike_by_the_plain_and_the_fast_path(batch_size):
    save_contact(name="Stored", phones=["+79201119613"])
    in_turn, expected = import_in_turn(MERGES, batch_size)

    summary = import_contacts(io.BytesIO(MERGES.encode()), batch_size=batch_size, fast=True)

    assert snapshot() == expected
    assert (summary.created, summary.updated, summary.unchanged, summary.skipped,
            summary.errors) == (
        in_turn.created, in_turn.updated, in_turn.unchanged, in_turn.skipped, in_turn.errors,
    )


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("fast", [False, True])
def test_batches_merge_as_one_by_one(fast):
    save_contact(name="Stored", phones=["+79201119613"])

    summary = import_contacts(io.BytesIO(MERGES.encode()), batch_size=2, fast=fast)

    assert (summary.created, summary.updated, summary.unchanged, summary.skipped) == (5, 6, 0, 1)
    assert summary.errors == [RowError(10, "'12' is not a phone number")]
    assert snapshot() == [
        ("Anna", "Lutik", "", "", ("+79201110006",)),  # a number: not matched by name
        ("Anna", "Lutik", "anna@example.ru", "103", ()),
        ("Petr", "", "", "102", ("+79201110003",)),
        # Ivan: renamed by the rows with his numbers, last by Petr's, which he took over.
        ("Petr", "Romashka", "ivan@example.ru", "104",
         ("+79201110001", "+79201110002", "+79201110003", "+79201110005")),
        ("Romashka", "Romashka", "", "", ("+79201110004",)),
        ("Stored One", "Stored Co", "", "", ("+79201119613",)),
    ]


names = st.sampled_from(["Ivan", "Petr", "Anna", ""])
companies = st.sampled_from(["", "Romashka", "Lutik"])
numbers = st.lists(st.sampled_from([f"92011100{n:02d}" for n in range(6)]), max_size=3)
extensions = st.sampled_from(["", "101", "102"])
emails = st.sampled_from(["", "a@example.ru", "b@example.ru"])
csv_rows = st.lists(st.tuples(names, companies, numbers, extensions, emails), max_size=12)


def csv_of(rows: list[tuple]) -> str:
    """The file of csv_rows' rows: name, company, phones, responsible, email."""
    return HEADER + "".join(
        f"{name};{company};{', '.join(phones)};{ext};{email}\r\n"
        for name, company, phones, ext, email in rows
    )


@pytest.mark.django_db(transaction=True)
@settings(max_examples=40, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=csv_rows, batch_size=st.integers(1, 4))
def test_any_rows_land_alike_by_the_plain_and_the_fast_path(rows, batch_size):
    data = csv_of(rows)
    in_turn, expected = import_in_turn(data, batch_size)
    try:
        summary = import_contacts(io.BytesIO(data.encode()), batch_size=batch_size, fast=True)

        assert snapshot() == expected
        assert (summary.created, summary.updated, summary.unchanged, summary.errors) == (
            in_turn.created, in_turn.updated, in_turn.unchanged, in_turn.errors,
        )
        assert (summary.created + summary.updated + summary.unchanged + summary.skipped
                == summary.lines.rows == len(rows) - summary.lines.blank_lines)
        assert summary.lines.lines == 1 + len(rows)
    finally:
        Contact.objects.all().delete()
        Agent.objects.all().delete()


@pytest.mark.django_db(transaction=True)
@settings(max_examples=60, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=csv_rows, batch_size=st.integers(2, 12))
def test_any_rows_land_in_batches_as_saved_one_by_one(rows, batch_size):
    data = csv_of(rows)
    try:
        save_contact(name="Ivan", company="Romashka", phones=["+79201110000"])
        one_by_one, expected = import_in_turn(data, 1)

        summary = import_contacts(io.BytesIO(data.encode()), batch_size=batch_size)

        assert snapshot() == expected
        assert (summary.created, summary.updated, summary.unchanged) == (
            one_by_one.created, one_by_one.updated, one_by_one.unchanged,
        )
    finally:
        Contact.objects.all().delete()
        Agent.objects.all().delete()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("rows", "landed"),
    [
        # Ivan's number renames him Petr: the row without numbers then finds Petr, not a stranger.
        ("Petr;A;9201119613\r\nPetr;A;\r\n", [("Petr", "A")]),
        # ... and a row for Ivan finds no Ivan any more: a new contact.
        ("Petr;A;9201119613\r\nIvan;A;\r\n", [("Ivan", "A"), ("Petr", "A")]),
        # A new contact named after its company is found by that name.
        (";Acme;9201110005\r\nAcme;Acme;\r\n", [("Acme", "Acme"), ("Ivan", "A")]),
    ],
)
@pytest.mark.parametrize("fast", [False, True])
def test_a_row_without_numbers_finds_names_as_the_rows_before_left_them(rows, landed, fast):
    save_contact(name="Ivan", company="A", phones=["+79201119613"])

    import_contacts(io.BytesIO(f"name;company;phones\r\n{rows}".encode()), fast=fast)

    assert sorted(Contact.objects.values_list("name", "company")) == landed


@pytest.mark.django_db(transaction=True)
def test_a_failed_batch_stops_the_import_and_later_batches_are_not_kept(monkeypatch):
    insert_contacts = sql_writing._insert_contacts

    def failing_on_client_1(cursor, drafts, now):  # noqa: ANN001, ANN202
        if drafts and drafts[0].name == "Client 1":
            raise RuntimeError("disk full")
        insert_contacts(cursor, drafts, now)

    monkeypatch.setattr(sql_writing, "_insert_contacts", failing_on_client_1)
    data = HEADER + "".join(f"Client {n};;+7 920 000-00-{n:02d};;\r\n" for n in range(6))

    with pytest.raises(RuntimeError, match="disk full"):
        import_contacts(io.BytesIO(data.encode()), batch_size=1, fast=True)

    assert list(Contact.objects.values_list("name", flat=True)) == ["Client 0"]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("fast", [False, True])
def test_a_contact_deleted_while_its_rows_are_read_leaves_them_to_a_new_contact(
    monkeypatch, fast
):
    gone = save_contact(name="Deleted meanwhile", phones=["+79201119613"])
    module = pipelining if fast else planning
    select_in = module.select_in

    def deleting_first(model, names, key, values):  # noqa: ANN001, ANN202
        if model is Contact:  # its number was just found: the admin deletes it now
            Contact.objects.filter(pk=gone.pk).delete()
        return select_in(model, names, key, values)

    monkeypatch.setattr(module, "select_in", deleting_first)

    data = f"{HEADER}Vasya;;8 920 111-96-13;;\r\n".encode()
    summary = import_contacts(io.BytesIO(data), fast=fast)

    assert (summary.created, summary.updated) == (1, 0)
    assert find_contact_by_phone("+79201119613").name == "Vasya"


@pytest.mark.django_db(transaction=True)
def test_an_import_stopped_early_keeps_only_the_batches_it_reported(monkeypatch):
    update_contacts = sql_writing._update_contacts

    def slow(cursor, drafts, now):  # noqa: ANN001, ANN202 - batches still being written
        time.sleep(0.2)
        update_contacts(cursor, drafts, now)

    monkeypatch.setattr(sql_writing, "_update_contacts", slow)
    data = HEADER + "".join(f"Client {n};;+7 920 000-00-{n:02d};;\r\n" for n in range(20))

    def interrupted(done_bytes: int, rows: int) -> None:
        raise KeyboardInterrupt  # Ctrl-C after the first batch was saved and reported

    with pytest.raises(KeyboardInterrupt):
        import_contacts(io.BytesIO(data.encode()), batch_size=2, progress=interrupted, fast=True)

    assert sorted(Contact.objects.values_list("name", flat=True)) == ["Client 0", "Client 1"]


@pytest.mark.django_db(transaction=True)
def test_progress_of_batches_by_the_fast_path_comes_in_order():
    data = (HEADER + "".join(f"Клиент {n};;+7 920 000-00-{n:02d};;\r\n" for n in range(5)))
    data = data.encode()
    reports: list[tuple[int, int]] = []
    import_contacts(
        io.BytesIO(data), batch_size=2, progress=lambda *r: reports.append(r), fast=True
    )
    assert [rows for _, rows in reports] == [2, 4, 5]
    assert reports[-1][0] == len(data)


@pytest.mark.parametrize("batch_size", [1, 500])
def test_the_fast_path_inside_a_transaction_lands_as_the_plain_path(batch_size):
    in_turn, expected = import_in_turn(MERGES, batch_size)

    summary = import_contacts(io.BytesIO(MERGES.encode()), batch_size=batch_size, fast=True)

    assert snapshot() == expected
    assert (summary.created, summary.updated, summary.unchanged, summary.errors) == (
        in_turn.created, in_turn.updated, in_turn.unchanged, in_turn.errors,
    )


def test_bad_rows_read_ahead_keep_their_line_numbers():
    data = HEADER + 'Ivan;"Romashka\r\nbranch 2";9201119613;;\r\nBad;;12;;\r\n' + ";;13;;\r\n" * 3

    summary = import_contacts(io.BytesIO(data.encode()), batch_size=2, fast=True)

    assert summary.errors == [RowError(n, f"'{12 + (n > 4)}' is not a phone number")
                              for n in range(4, 8)]
    assert summary.created == 1


def test_an_error_while_reading_ahead_is_raised_here(monkeypatch):
    def broken(*args):  # noqa: ANN002, ANN202
        raise LookupError("broken")

    monkeypatch.setattr(reading, "_parse_cells", broken)

    with pytest.raises(LookupError, match="broken"):
        import_contacts(io.BytesIO(ENGLISH_UTF8.encode()), fast=True)


def test_a_reader_process_that_dies_is_an_import_error(monkeypatch):
    monkeypatch.setattr(reading, "_parse_cells", lambda *args: os._exit(3))

    with pytest.raises(reading.ContactImportError, match="exit code 3"):
        import_contacts(io.BytesIO(ENGLISH_UTF8.encode()), fast=True)
