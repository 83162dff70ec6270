"""`manage.py import_contacts` of broken files: read in the one encoding the whole file is in or
not at all, and every line of the file accounted for, a stray quote costing one row."""
import io
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contacts.importing import encoding as file_encoding
from contacts.importing import reading
from contacts.importing.encoding import EncodingError, choose_encoding
from contacts.importing.reading import RowError
from contacts.importing.service import import_contacts
from contacts.importing.summary import ImportSummary
from contacts.models import Contact

pytestmark = pytest.mark.django_db

FIRST = [
    "Иван", "Пётр", "Мария", "Анна", "Сергей", "Алексей", "Ольга", "Татьяна", "Дмитрий",
    "Николай", "Елена", "Наталья", "Андрей", "Юлия", "Фёдор", "Ксения", "Михаил", "Светлана",
    "Владимир", "Людмила", "Евгений", "Галина", "Юрий", "Жанна", "Эдуард",
]
LAST = [
    "Петров", "Сидорова", "Иванов", "Смирнова", "Кузнецов", "Попова", "Васильев", "Соколова",
    "Михайлов", "Новикова", "Фёдоров", "Морозова", "Волков", "Алексеева", "Лебедев", "Семёнова",
    "Егоров", "Павлова", "Козлов", "Щербаков",
]
COMPANIES = ("ООО Ромашка", "АО Лютик", "ИП Сидоров", "ООО Рога и Копыта", "", "", "")
HEADER = "name;company;phones;responsible;email\r\n"


def name_of(n: int) -> str:
    return f"{FIRST[n % len(FIRST)]} {LAST[n * 7 % len(LAST)]}"


def row(n: int) -> str:
    """Data row n: a Russian name and company, a number of its own."""
    return f"{name_of(n)};{COMPANIES[n % len(COMPANIES)]};+7 920 {n:07d};;\r\n"


def rows_file(count: int, header: str = HEADER) -> str:
    return header + "".join(row(n) for n in range(count))


@pytest.fixture
def write(tmp_path: Path):
    """Write bytes to a CSV file; its path."""

    def write(data: bytes) -> Path:
        path = tmp_path / "contacts.csv"
        path.write_bytes(data)
        return path

    return write


def run(path: Path, *args: str) -> tuple[str, str]:
    """Run the command; its stdout and stderr."""
    out, err = io.StringIO(), io.StringIO()
    call_command("import_contacts", str(path), *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def names() -> set[str]:
    return set(Contact.objects.values_list("name", flat=True))


# --- one encoding for the whole file ------------------------------------------------------------


@pytest.mark.parametrize(
    ("encoding", "called"),
    [("cp1251", "Windows-1251"), ("koi8_r", "KOI8-R"), ("cp866", "CP866"),
     ("utf-8", "UTF-8"), ("utf-8-sig", "UTF-8")],
)
@pytest.mark.parametrize("header", [HEADER, "Имя;Компания;Телефоны;Ответственный;Почта\r\n"])
def test_a_file_of_russian_names_lands_in_its_own_encoding(write, encoding, called, header):
    out, err = run(write(rows_file(5, header).encode(encoding)))

    assert f"({called})" in out
    assert "created 5, updated 0, unchanged 0, skipped 0" in out
    assert err == ""
    assert names() == {name_of(n) for n in range(5)}
    assert Contact.objects.get(name=name_of(1)).company == COMPANIES[1]


def insert_byte(data: bytes, offset: int, byte: bytes = b"\xb9") -> tuple[bytes, int]:
    """data with `byte` (Windows-1251's `№`, as pasted into a UTF-8 file) put in at offset, or
    just before the nearest line break after it (not inside a character); the line it is on."""
    at = data.index(b"\r\n", offset)
    return data[:at] + byte + data[at:], data.count(b"\n", 0, at) + 1


@pytest.mark.parametrize(
    "offset",
    [len(HEADER), (1 << 16) - 1, 1 << 16, -60],
    ids=["first row", "last byte of a block", "first byte of the next", "last row"],
)
def test_utf8_with_one_broken_byte_is_refused_naming_its_line(write, offset):
    data = rows_file(1000).encode()
    if offset in (1 << 16, (1 << 16) - 1):  # trailing spaces move a line break to the offset
        at = data.rindex(b"\r\n", 0, offset)
        data = data[:at] + b" " * (offset - at) + data[at:]
    broken, line = insert_byte(data, offset if offset >= 0 else len(data) + offset)

    with pytest.raises(CommandError, match=rf"line {line}: byte 0xB9 is not UTF-8") as raised:
        run(write(broken))

    assert "--encoding" in str(raised.value)
    assert "1 broken" in str(raised.value)
    assert not Contact.objects.exists()


def test_koi8r_is_not_read_as_windows_1251(write):
    """Both decode any bytes: KOI8-R read as Windows-1251 would turn `Иван` into `жБЮМ`."""
    run(write(rows_file(20).encode("koi8_r")))

    assert names() == {name_of(n) for n in range(20)}


@pytest.mark.parametrize("encoding", ["cp1251", "koi8_r"])
def test_too_little_text_to_tell_stops_before_writing_and_names_the_option(write, encoding):
    path = write(f"{HEADER}Ян;;+7 920 000-00-01;;\r\nJohn;;+7 920 000-00-02;;\r\n".encode(encoding))

    with pytest.raises(CommandError, match="too little non-ASCII text") as raised:
        run(path)

    assert "--encoding cp1251" in str(raised.value)
    assert "--encoding koi8-r" in str(raised.value)
    assert not Contact.objects.exists()


@pytest.mark.parametrize("encoding", ["cp1251", "koi8-r"])
def test_the_encoding_given_is_used(write, encoding):
    path = write(f"{HEADER}Ян;;+7 920 000-00-01;;\r\n".encode(encoding))

    out, _ = run(path, "--encoding", encoding)

    assert names() == {"Ян"}
    assert "read 2 lines" in out


def test_a_latin_1_file_is_not_read_as_cyrillic(write):
    data = f"{HEADER}José Müller;Société Générale;+7 920 000-00-01;;\r\n".encode("cp1252")

    with pytest.raises(CommandError, match="does not read as Russian text"):
        run(write(data))
    assert not Contact.objects.exists()

    run(write(data), "--encoding", "cp1252")
    assert names() == {"José Müller"}


def test_a_file_not_in_the_encoding_given_is_refused_naming_the_line(write):
    path = write(rows_file(3).encode("cp1251"))

    with pytest.raises(CommandError, match=r"line 2: byte 0x\w\w is not UTF-8: nothing"):
        run(path, "--encoding", "utf-8")
    assert not Contact.objects.exists()


def test_a_bom_is_dropped_with_the_encoding_given_too(write):
    run(write(rows_file(2).encode("utf-8-sig")), "--encoding", "utf-8")

    assert names() == {name_of(0), name_of(1)}


@pytest.mark.parametrize("encoding", ["no-such-thing", "base64"])
def test_an_unknown_encoding_is_a_command_error(write, encoding):
    with pytest.raises(CommandError, match=f"Unknown text encoding '{encoding}'"):
        run(write(rows_file(1).encode()), "--encoding", encoding)


russian_rows = st.lists(
    st.one_of(
        st.tuples(st.sampled_from(FIRST), st.sampled_from(LAST), st.sampled_from(COMPANIES))
        .map(lambda cells: f"{cells[0]} {cells[1]};{cells[2]}"),
        st.sampled_from(FIRST + LAST),  # a word alone: the least there is to go on
    ),
    min_size=1, max_size=30,
)


@settings(max_examples=300, deadline=None, database=None)
@given(
    rows=russian_rows,
    encoding=st.sampled_from(["cp1251", "koi8_r", "cp866", "utf-8"]),
    header=st.sampled_from([HEADER, "Имя;Компания;Телефоны\r\n"]),
    upper=st.booleans(),
)
def test_a_file_is_read_as_it_was_written_or_not_at_all(rows, encoding, header, upper):
    """Whatever Russian names it holds, however few, in capitals or not: never mojibake."""
    text = header + "".join(f"{cells};\r\n" for cells in rows)
    text = text.upper() if upper else text
    data = text.encode(encoding)
    try:
        chosen = choose_encoding(io.BytesIO(data))
    except EncodingError as error:
        assert "--encoding" in str(error)
    else:
        assert data.decode(chosen) == text


def test_deciding_reads_the_file_in_blocks(write, monkeypatch):
    """A million rows in any encoding are decided on in little memory: blocks, not the file."""
    reads: list[int] = []
    data = rows_file(3000).encode("koi8_r")

    class Recording(io.BytesIO):
        def read(self, size: int | None = -1) -> bytes:
            reads.append(size)
            return super().read(size)

    assert choose_encoding(Recording(data)) == "koi8_r"
    assert max(reads) == file_encoding._BLOCK < len(data)


# --- every line accounted for --------------------------------------------------------------------


def line_count(summary: ImportSummary) -> tuple[int, int, int, int]:
    lines = summary.lines
    return lines.lines, lines.header, lines.rows, lines.blank_lines


def adds_up(summary: ImportSummary) -> bool:
    return (
        summary.created + summary.updated + summary.unchanged + summary.skipped
        == summary.lines.rows
    )


def test_an_unbalanced_quote_in_the_middle_costs_its_row_only(write):
    lines = rows_file(1000).splitlines(keepends=True)
    lines[500] = lines[500].replace(";", ';"', 1)  # data row 500, on line 501

    summary = import_contacts(io.BytesIO("".join(lines).encode()))

    assert summary.errors == [RowError(501, summary.errors[0].reason)]
    assert "never closed" not in summary.errors[0].reason
    assert f"not closed within {reading.MAX_ROW_LINES} lines" in summary.errors[0].reason
    assert (summary.created, summary.skipped) == (999, 1)
    assert line_count(summary) == (1001, 1, 1000, 0)
    assert adds_up(summary)
    assert Contact.objects.count() == 999
    assert not Contact.objects.filter(company__contains="\n").exists()


def test_the_command_reports_the_stray_quote_and_all_the_lines(write):
    lines = rows_file(1000).splitlines(keepends=True)
    lines[500] = lines[500].replace(";", ';"', 1)

    out, err = run(write("".join(lines).encode("cp1251")))

    assert err.startswith("line 501: a quoted cell opened on this line is not closed within")
    assert "(an unbalanced quote?); the lines after it (9) are read again as rows" in err
    assert "read 1001 lines (Windows-1251): header 1, 1000 rows, blank 0" in out
    assert "created 999, updated 0, unchanged 0, skipped 1" in out


@pytest.mark.parametrize("from_end", [1, 2, 5])
def test_a_quote_never_closed_before_the_end_costs_its_row_only(from_end):
    lines = rows_file(20).splitlines(keepends=True)
    lines[-from_end] = lines[-from_end].replace(";", ';"', 1)

    summary = import_contacts(io.BytesIO("".join(lines).encode()))

    line = 22 - from_end
    assert [error.line for error in summary.errors] == [line]
    assert f"never closed: it runs over the {from_end} line" in summary.errors[0].reason
    assert (summary.created, summary.skipped) == (19, 1)
    assert line_count(summary) == (21, 1, 20, 0)


def test_rows_between_two_stray_quotes_are_not_taken_into_a_cell():
    lines = rows_file(10).splitlines(keepends=True)
    lines[3] = lines[3].replace(";", ';"', 1)  # opens a quote on line 4 ...
    lines[6] = lines[6].replace(";", '";', 1)  # ... which line 7's stray quote "closes"

    summary = import_contacts(io.BytesIO("".join(lines).encode()))

    assert [error.line for error in summary.errors] == [4]
    assert "takes in lines that look like rows" in summary.errors[0].reason
    assert names() == {name_of(n) for n in range(10) if n not in (2, 5)} | {f'{name_of(5)}"'}
    assert line_count(summary) == (11, 1, 10, 0)
    assert adds_up(summary)


def test_a_stray_quote_in_an_ignored_column_is_found_too():
    data = "notes;name;phones\r\n" + "".join(
        f'{"VIP" if n != 3 else chr(34) + "VIP"};{name_of(n)};+7 920 {n:07d}\r\n'
        for n in range(30)
    )

    summary = import_contacts(io.BytesIO(data.encode()))

    assert [error.line for error in summary.errors] == [5]
    assert summary.created == 29


def test_cells_over_a_few_lines_are_cells():
    data = HEADER + (
        'Ivan;"Romashka\r\nbranch 2, Tver";"9201110001\r\n9201110002\r\n9201110003";;\r\n'
        "\r\n"
        "Petr;;9201110004;;\r\n"
    )

    summary = import_contacts(io.BytesIO(data.encode()))

    assert summary.errors == []
    assert Contact.objects.get(name="Ivan").company == "Romashka\r\nbranch 2, Tver"
    assert Contact.objects.get(name="Ivan").phones.count() == 3
    assert line_count(summary) == (7, 1, 2, 1)
    assert summary.lines.row_lines == 5


@pytest.mark.parametrize("end", ["", "\r\n"])
def test_a_quoted_cell_closed_on_the_last_line_is_a_cell(end):
    data = HEADER + f'Ivan;"Romashka\r\nbranch 2";9201110001;;"a@example.ru"{end}'

    summary = import_contacts(io.BytesIO(data.encode()))

    assert (summary.created, summary.errors) == (1, [])
    assert line_count(summary) == (3, 1, 1, 0)


def test_a_bad_row_over_several_lines_says_which_lines_it_took():
    data = HEADER + 'Ivan;"Romashka\r\nbranch 2";12;;\r\n'

    summary = import_contacts(io.BytesIO(data.encode()))

    assert summary.errors == [RowError(2, "'12' is not a phone number (the row takes lines 2-3)")]


def test_the_command_says_how_many_lines_the_rows_took(write):
    out, _ = run(write((HEADER + 'Ivan;"Romashka\r\nbranch 2";9201110001;;\r\n').encode()))

    assert "read 3 lines (UTF-8): header 1, 1 rows on 2 lines, blank 0" in out


cells = st.sampled_from(["Ivan", "Petr", "", "Romashka", '"A;B"', '"line\r\nbreak"', "9201110001",
                         "9201110002, 9201110003", "12", '"', 'x"y', "101", "a@example.ru"])
file_lines = st.lists(
    st.one_of(st.lists(cells, min_size=1, max_size=6).map(";".join), st.just("")),
    max_size=40,
)


@settings(max_examples=60, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    lines=file_lines,
    batch_size=st.integers(1, 5),
    ending=st.sampled_from(["\r\n", "\n"]),
    last_ending=st.booleans(),
)
def test_every_line_and_every_row_is_accounted_for(lines, batch_size, ending, last_ending):
    """Whatever stray quotes and breaks the lines hold: lines = header + rows' + blank lines,
    and each row created, updated, unchanged or skipped."""
    data = ending.join([HEADER.strip(), *lines]) + (ending if last_ending else "")
    with transaction.atomic():
        summary = import_contacts(io.BytesIO(data.encode()), batch_size=batch_size)
        transaction.set_rollback(True)

    physical = len(io.StringIO(data, newline="").readlines())
    assert summary.lines.lines == physical
    assert adds_up(summary)
    assert summary.skipped == len(summary.errors)
