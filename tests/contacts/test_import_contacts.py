"""`manage.py import_contacts`: CSV files as Excel writes them, re-imported without duplicates."""
import io
import os
import time
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from calls.routing import route_lookup
from contacts import import_reading, importer
from contacts.importer import RowError, import_contacts
from contacts.models import Agent, Contact, ContactPhone
from contacts.phones import normalize_phone
from contacts.services import find_contact_by_phone, save_contact

pytestmark = pytest.mark.django_db

# As Excel in Russia saves "CSV (разделители - точки с запятой)": Windows-1251, `;`, CRLF.
RUSSIAN_EXCEL = (
    "Имя;Компания;Телефоны;Ответственный;Почта\r\n"
    'Иван Петров;ООО Ромашка;"+7 920 111-96-13, 8 (920) 222 33 44; 79203334455";101;'
    "ivan@example.ru\r\n"
    "Мария Сидорова;;9204445566;102;\r\n"
)
ENGLISH_UTF8 = (
    "name,company,phones,responsible,email\n"
    'Ivan Petrov,Romashka LLC,"+7 920 111-96-13; 8 (920) 222-33-44",101,ivan@example.com\n'
)
HEADER = "name;company;phones;responsible;email\r\n"


@pytest.fixture
def csv_file(tmp_path: Path):
    """Write text to a CSV file in the given encoding; return its path."""

    def write(text: str, encoding: str = "utf-8") -> Path:
        path = tmp_path / "contacts.csv"
        path.write_bytes(text.encode(encoding))
        return path

    return write


def run(path: Path) -> tuple[str, str]:
    """Run the command; its stdout and stderr."""
    out, err = io.StringIO(), io.StringIO()
    call_command("import_contacts", str(path), stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def phones_of(name: str) -> list[str]:
    return list(
        ContactPhone.objects.filter(contact__name=name)
        .order_by("id")
        .values_list("number", flat=True)
    )


def test_cp1251_semicolon_file_with_cyrillic_names_lands(csv_file):
    out, _ = run(csv_file(RUSSIAN_EXCEL, "cp1251"))

    assert "created 2, updated 0, unchanged 0, skipped 0" in out
    ivan = Contact.objects.get(name="Иван Петров")
    assert ivan.company == "ООО Ромашка"
    assert ivan.email == "ivan@example.ru"
    assert Contact.objects.filter(name="Мария Сидорова").exists()


def test_several_numbers_in_one_cell_in_different_formats_are_stored_e164(csv_file):
    run(csv_file(RUSSIAN_EXCEL, "cp1251"))

    assert phones_of("Иван Петров") == ["+79201119613", "+79202223344", "+79203334455"]


def test_utf8_with_bom_comma_file_lands(csv_file):
    out, _ = run(csv_file(ENGLISH_UTF8, "utf-8-sig"))

    assert "created 1, updated 0, unchanged 0, skipped 0" in out
    assert Contact.objects.get(name="Ivan Petrov").company == "Romashka LLC"
    assert phones_of("Ivan Petrov") == ["+79201119613", "+79202223344"]


def test_utf8_without_bom_with_russian_text_lands(csv_file):
    run(csv_file(RUSSIAN_EXCEL, "utf-8"))

    assert Contact.objects.filter(name="Иван Петров", company="ООО Ромашка").exists()


def test_header_names_are_case_insensitive_and_trimmed(csv_file):
    run(csv_file(" NAME ; Phones ;E-Mail\r\nIvan;9201119613;ivan@example.com\r\n"))

    assert Contact.objects.get(name="Ivan").email == "ivan@example.com"


def test_delimiter_comes_from_the_header_not_from_commas_in_the_data(csv_file):
    run(csv_file("name;company;phones\r\nIvan;Romashka, branch 2, Tver;9201119613\r\n"))

    assert Contact.objects.get(name="Ivan").company == "Romashka, branch 2, Tver"


def test_excel_sep_line_is_not_the_header():
    data = "sep=;\r\nname;phones\r\nBad;12\r\nIvan;9201119613\r\n"

    summary = import_contacts(io.BytesIO(data.encode()))

    assert summary.errors == [RowError(3, "'12' is not a phone number")]
    assert phones_of("Ivan") == ["+79201119613"]


def test_unknown_columns_are_ignored(csv_file):
    out, err = run(csv_file("Birthday;name;Notes;phones\r\n1990-01-01;Ivan;VIP;9201119613\r\n"))

    assert "created 1, updated 0, unchanged 0, skipped 0" in out
    assert err == ""
    assert Contact.objects.get(name="Ivan").notes == ""


def test_reimport_updates_without_duplicating_contacts_or_phones(csv_file):
    run(csv_file(RUSSIAN_EXCEL, "cp1251"))
    changed = RUSSIAN_EXCEL.replace("ООО Ромашка", "АО Лютик")

    out, _ = run(csv_file(changed, "cp1251"))

    assert "created 0, updated 1, unchanged 1, skipped 0" in out
    assert Contact.objects.count() == 2
    assert ContactPhone.objects.count() == 4
    assert Contact.objects.get(name="Иван Петров").company == "АО Лютик"


def test_reimport_merges_numbers_and_keeps_the_ones_the_contact_had(csv_file):
    contact = save_contact(name="Ivan", phones=["+79201119613", "+79209990000"])

    run(csv_file(HEADER + 'Ivan;;"9201119613, 9204445566";;\r\n'))

    assert list(contact.phones.values_list("number", flat=True)) == [
        "+79201119613",
        "+79209990000",
        "+79204445566",
    ]


def test_empty_cells_keep_what_the_crm_has(csv_file):
    contact = save_contact(
        name="Ivan", company="Romashka", email="ivan@example.com", phones=["+79201119613"]
    )

    run(csv_file(HEADER + "Ivan;;9201119613;;\r\n"))

    contact.refresh_from_db()
    assert (contact.company, contact.email) == ("Romashka", "ivan@example.com")


def test_numbers_of_two_contacts_update_the_lowest_id(csv_file):
    first = save_contact(name="First", phones=["+79201119613"])
    second = save_contact(name="Second", phones=["+79204445566"])

    run(csv_file(HEADER + 'Merged;;"9204445566, 9201119613";;\r\n'))

    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.name, second.name) == ("Merged", "Second")


@pytest.mark.parametrize("batch_size", [1, 500])
def test_rows_sharing_a_number_make_one_contact(batch_size):
    data = HEADER + "Ivan;;9201119613;;\r\nIvan;Romashka;79201119613, 9204445566;;\r\n"

    summary = import_contacts(io.BytesIO(data.encode()), batch_size=batch_size)

    assert (summary.created, summary.updated) == (1, 1)
    contact = Contact.objects.get()
    assert contact.company == "Romashka"
    assert phones_of("Ivan") == ["+79201119613", "+79204445566"]


def test_reimport_of_a_row_without_numbers_does_not_duplicate(csv_file):
    path = csv_file(HEADER + "Ivan;Romashka;;;\r\n")
    run(path)

    out, _ = run(path)

    assert "created 0, updated 0, unchanged 1, skipped 0" in out
    assert Contact.objects.count() == 1


def test_row_without_a_name_is_named_after_its_company(csv_file):
    run(csv_file(HEADER + ";Romashka;9201119613;;\r\n"))

    assert Contact.objects.get().name == "Romashka"


@pytest.mark.parametrize(
    ("cells", "reason"),
    [
        (";Romashka;;;", "no name and no phone number"),
        ("Ivan;;12345;;", "'12345' is not a phone number"),
        ("Ivan;;9201119613, anonymous;;", "'anonymous' is not a phone number"),
        ("Ivan;;9201119613;Petrov;", "responsible 'Petrov' is not an extension"),
        ("Ivan;;9201119613;;ivan@", "'ivan@' is not an email address"),
        ("I" * 201 + ";;9201119613;;", "name is longer than 200 characters"),
        ("Iv\x00an;;9201119613;;", "contains a NUL character"),
    ],
)
def test_bad_row_is_reported_with_its_line_and_good_rows_land(csv_file, cells, reason):
    data = HEADER + "Good One;;9205550001;;\r\n" + cells + "\r\nGood Two;;9205550002;;\r\n"

    out, err = run(csv_file(data))

    assert "created 2, updated 0, unchanged 0, skipped 1" in out
    assert err.startswith(f"line 3: {reason}")
    assert set(Contact.objects.values_list("name", flat=True)) == {"Good One", "Good Two"}


def test_line_numbers_count_lines_inside_quoted_cells():
    data = HEADER + 'Ivan;"Romashka\r\nbranch 2";9201119613;;\r\nBad;;12;;\r\n'

    summary = import_contacts(io.BytesIO(data.encode()))

    assert summary.errors == [RowError(4, "'12' is not a phone number")]


def test_bad_rows_beyond_the_listed_ones_are_counted(csv_file, monkeypatch):
    monkeypatch.setattr(importer, "MAX_LISTED_ERRORS", 2)

    out, err = run(csv_file(HEADER + ";;12;;\r\n" * 3 + "Ivan;;9201119613;;\r\n"))

    assert "created 1, updated 0, unchanged 0, skipped 3" in out
    assert err.splitlines() == [
        "line 2: '12' is not a phone number, skipped",
        "line 3: '12' is not a phone number, skipped",
        "... and 1 more bad rows",
    ]


def test_blank_rows_are_ignored_silently(csv_file):
    out, err = run(csv_file(HEADER + ";;;;\r\n\r\nIvan;;9201119613;;\r\n"))

    assert "created 1, updated 0, unchanged 0, skipped 0" in out
    assert err == ""


def test_agent_is_created_from_responsible(csv_file):
    run(csv_file(RUSSIAN_EXCEL, "cp1251"))

    assert set(Agent.objects.values_list("extension", flat=True)) == {"101", "102"}
    assert Contact.objects.get(name="Иван Петров").responsible.extension == "101"


def test_lookup_finds_an_imported_contact_by_the_pbx_digits(csv_file):
    run(csv_file(RUSSIAN_EXCEL, "cp1251"))

    assert route_lookup(normalize_phone("79202223344")).payload == {
        "contact_name": "Иван Петров/ООО Ромашка",
        "responsible": "101",
    }


@pytest.mark.parametrize(
    ("header", "missing"),
    [("name;company\r\n", "phones"), ("Телефоны;Компания\r\n", "name")],
)
def test_missing_required_column_is_a_command_error(csv_file, header, missing):
    with pytest.raises(CommandError, match=f"needs the columns {missing}"):
        run(csv_file(header + "Ivan;Romashka\r\n"))


def test_file_not_found_is_a_command_error(tmp_path):
    with pytest.raises(CommandError, match="No such file"):
        run(tmp_path / "missing.csv")


def test_undecodable_file_is_a_command_error(csv_file, tmp_path):
    path = tmp_path / "binary.csv"
    path.write_bytes(HEADER.encode() + b"\x98\xff\xfe\r\n")

    with pytest.raises(CommandError, match="Cannot tell the file's encoding"):
        run(path)


def test_utf16_file_is_a_command_error(csv_file):
    with pytest.raises(CommandError, match="UTF-16"):
        run(csv_file(HEADER, "utf-16"))


def test_excel_workbook_is_a_command_error(tmp_path):
    path = tmp_path / "contacts.xlsx"
    path.write_bytes(b"PK\x03\x04" + bytes(100))

    with pytest.raises(CommandError, match="Excel workbook"):
        run(path)


class Terminal(io.StringIO):
    """A stdout that says it is a terminal."""

    def isatty(self) -> bool:
        return True


def test_progress_bar_is_drawn_on_a_terminal(csv_file):
    path = csv_file(HEADER + "".join(f"Клиент {n};;+7 920 000-00-{n:02d};;\r\n" for n in range(5)))
    out = Terminal()
    call_command("import_contacts", str(path), stdout=out)
    assert "\r[" in out.getvalue()
    assert "100%  5 rows" in out.getvalue()
    assert out.getvalue().rstrip().endswith("created 5, updated 0, unchanged 0, skipped 0")


def test_no_progress_bar_when_stdout_is_not_a_terminal(csv_file):
    out = io.StringIO()
    call_command("import_contacts", str(csv_file(RUSSIAN_EXCEL, "cp1251")), stdout=out)
    assert "\r" not in out.getvalue()


def test_progress_reports_rows_and_bytes_after_each_batch():
    data = (HEADER + "".join(f"Клиент {n};;+7 920 000-00-{n:02d};;\r\n" for n in range(5)))
    data = data.encode()
    reports: list[tuple[int, int]] = []
    import_contacts(io.BytesIO(data), batch_size=2, progress=lambda *r: reports.append(r))
    assert [rows for _, rows in reports] == [2, 4, 5]
    assert reports[-1][0] == len(data)


# --- big files: read ahead in a child process; on PostgreSQL, written by threads ------------

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


def import_in_turn(data: str, batch_size: int) -> tuple[importer.ImportSummary, list[tuple]]:
    """Import inside a transaction (so batch after batch, on this connection), rolled back."""
    with transaction.atomic():
        summary = import_contacts(io.BytesIO(data.encode()), batch_size=batch_size)
        landed = snapshot()
        transaction.set_rollback(True)
    return summary, landed


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("batch_size", [1, 2, 3, 500])
def test_batches_land_alike_written_in_turn_or_by_threads(batch_size):
    save_contact(name="Stored", phones=["+79201119613"])
    in_turn, expected = import_in_turn(MERGES, batch_size)

    summary = import_contacts(io.BytesIO(MERGES.encode()), batch_size=batch_size)

    assert snapshot() == expected
    assert (summary.created, summary.updated, summary.unchanged, summary.skipped,
            summary.errors) == (
        in_turn.created, in_turn.updated, in_turn.unchanged, in_turn.skipped, in_turn.errors,
    )


@pytest.mark.django_db(transaction=True)
def test_batches_written_by_threads_merge_as_one_by_one(csv_file):
    save_contact(name="Stored", phones=["+79201119613"])

    out, err = run(csv_file(MERGES))

    assert "created 5, updated 6, unchanged 0, skipped 1" in out
    assert err == "line 10: '12' is not a phone number, skipped\n"
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
def test_any_rows_land_alike_written_in_turn_or_by_threads(rows, batch_size):
    data = csv_of(rows)
    in_turn, expected = import_in_turn(data, batch_size)
    try:
        summary = import_contacts(io.BytesIO(data.encode()), batch_size=batch_size)

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
def test_a_row_without_numbers_finds_names_as_the_rows_before_left_them(rows, landed):
    save_contact(name="Ivan", company="A", phones=["+79201119613"])

    import_contacts(io.BytesIO(f"name;company;phones\r\n{rows}".encode()))

    assert sorted(Contact.objects.values_list("name", "company")) == landed


@pytest.mark.django_db(transaction=True)
def test_a_failed_batch_stops_the_import_and_later_batches_are_not_kept(monkeypatch):
    insert_contacts = importer._insert_contacts

    def failing_on_client_1(cursor, drafts, now):  # noqa: ANN001, ANN202
        if drafts and drafts[0].name == "Client 1":
            raise RuntimeError("disk full")
        insert_contacts(cursor, drafts, now)

    monkeypatch.setattr(importer, "_insert_contacts", failing_on_client_1)
    data = HEADER + "".join(f"Client {n};;+7 920 000-00-{n:02d};;\r\n" for n in range(6))

    with pytest.raises(RuntimeError, match="disk full"):
        import_contacts(io.BytesIO(data.encode()), batch_size=1)

    assert list(Contact.objects.values_list("name", flat=True)) == ["Client 0"]


@pytest.mark.django_db(transaction=True)
def test_a_contact_deleted_while_its_rows_are_read_leaves_them_to_a_new_contact(monkeypatch):
    gone = save_contact(name="Deleted meanwhile", phones=["+79201119613"])
    select_in = importer._select_in

    def deleting_first(cursor, model, names, key, values):  # noqa: ANN001, ANN202
        if model is Contact:  # its number was just found: the admin deletes it now
            Contact.objects.filter(pk=gone.pk).delete()
        return select_in(cursor, model, names, key, values)

    monkeypatch.setattr(importer, "_select_in", deleting_first)

    summary = import_contacts(io.BytesIO(f"{HEADER}Vasya;;8 920 111-96-13;;\r\n".encode()))

    assert (summary.created, summary.updated) == (1, 0)
    assert find_contact_by_phone("+79201119613").name == "Vasya"


@pytest.mark.django_db(transaction=True)
def test_an_import_stopped_early_keeps_only_the_batches_it_reported(monkeypatch):
    update_contacts = importer._update_contacts

    def slow(cursor, drafts, now):  # noqa: ANN001, ANN202 - batches still being written
        time.sleep(0.2)
        update_contacts(cursor, drafts, now)

    monkeypatch.setattr(importer, "_update_contacts", slow)
    data = HEADER + "".join(f"Client {n};;+7 920 000-00-{n:02d};;\r\n" for n in range(20))

    def interrupted(done_bytes: int, rows: int) -> None:
        raise KeyboardInterrupt  # Ctrl-C after the first batch was saved and reported

    with pytest.raises(KeyboardInterrupt):
        import_contacts(io.BytesIO(data.encode()), batch_size=2, progress=interrupted)

    assert sorted(Contact.objects.values_list("name", flat=True)) == ["Client 0", "Client 1"]


@pytest.mark.django_db(transaction=True)
def test_progress_of_batches_written_by_threads_comes_in_order():
    data = (HEADER + "".join(f"Клиент {n};;+7 920 000-00-{n:02d};;\r\n" for n in range(5)))
    data = data.encode()
    reports: list[tuple[int, int]] = []
    import_contacts(io.BytesIO(data), batch_size=2, progress=lambda *r: reports.append(r))
    assert [rows for _, rows in reports] == [2, 4, 5]
    assert reports[-1][0] == len(data)


@pytest.mark.parametrize("batch_size", [1, 500])
def test_rows_read_ahead_land_as_rows_read_in_turn(batch_size):
    in_turn, expected = import_in_turn(MERGES, batch_size)

    summary = import_contacts(io.BytesIO(MERGES.encode()), batch_size=batch_size, read_ahead=True)

    assert snapshot() == expected
    assert (summary.created, summary.updated, summary.unchanged, summary.errors) == (
        in_turn.created, in_turn.updated, in_turn.unchanged, in_turn.errors,
    )


def test_bad_rows_read_ahead_keep_their_line_numbers():
    data = HEADER + 'Ivan;"Romashka\r\nbranch 2";9201119613;;\r\nBad;;12;;\r\n' + ";;13;;\r\n" * 3

    summary = import_contacts(io.BytesIO(data.encode()), batch_size=2, read_ahead=True)

    assert summary.errors == [RowError(n, f"'{12 + (n > 4)}' is not a phone number")
                              for n in range(4, 8)]
    assert summary.created == 1


def test_an_error_while_reading_ahead_is_raised_here(monkeypatch):
    def broken(*args):  # noqa: ANN002, ANN202
        raise LookupError("broken")

    monkeypatch.setattr(import_reading, "_parse_cells", broken)

    with pytest.raises(LookupError, match="broken"):
        import_contacts(io.BytesIO(ENGLISH_UTF8.encode()), read_ahead=True)


def test_a_reader_process_that_dies_is_an_import_error(monkeypatch):
    monkeypatch.setattr(import_reading, "_parse_cells", lambda *args: os._exit(3))

    with pytest.raises(importer.ContactImportError, match="exit code 3"):
        import_contacts(io.BytesIO(ENGLISH_UTF8.encode()), read_ahead=True)


@pytest.mark.parametrize(
    ("cell", "phones"),
    [
        ("", ()),
        ("  ", ()),
        (" 9201119613 ", ("+79201119613",)),
        ("9201119613;; 8 920 111 96 13,\n9204445566", ("+79201119613", "+79204445566")),
        (" ; ", ()),
        ("12", "'12' is not a phone number"),
        ("9201119613, 12", "'12' is not a phone number"),
    ],
)
def test_a_phones_cell_holds_any_number_of_numbers(cell, phones):
    assert import_reading._phones(cell, "RU") == phones
