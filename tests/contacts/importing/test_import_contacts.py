"""`manage.py import_contacts`: CSV files as Excel writes them, re-imported without duplicates."""
import io
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from calls.routing import route_lookup
from contacts.importing.reading import RowError
from contacts.importing.service import import_contacts
from contacts.models import Agent, Contact, ContactPhone
from contacts.phones import normalize_phone
from contacts.services import save_contact

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
    monkeypatch.setattr("contacts.importing.summary.MAX_LISTED_ERRORS", 2)

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
