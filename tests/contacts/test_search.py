"""Search of contacts by words of their name, company or email: the same contacts as a plain
`icontains` of every word finds, read from each database's index (migration 0007)."""
import io

import pytest
from django.db import connection, transaction

from contacts.importing.service import import_contacts
from contacts.models import Contact
from contacts.search import SEARCH_TABLE, search_contacts, search_words
from contacts.services import save_contact

pytestmark = pytest.mark.django_db

CONTACTS = "/admin/contacts/contact/"
on_sqlite = pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's FTS5 table")
on_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="PostgreSQL's trigram indexes"
)


def found(term: str) -> list[str]:
    return sorted(search_contacts(Contact.objects.all(), term).values_list("name", flat=True))


def check_the_index() -> None:
    """SQLite: the FTS5 table indexes exactly what the contacts table holds."""
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {SEARCH_TABLE}({SEARCH_TABLE}, rank) VALUES ('integrity-check', 1)"
            )


@pytest.fixture
def contacts() -> None:
    save_contact(name="Вася Пупкин", company="Рога и Копыта", phones=["+79201119613"])
    save_contact(name="Петя", company="ООО Ромашка", email="petya@example.ru", phones=[])
    save_contact(name="Ivan Petrov", company="Romashka LLC", phones=[])


def test_words_split_as_the_admin_splits_them():
    assert search_words('Вася  "Рога и" \'Ко пыта\'') == ["Вася", "Рога и", "Ко пыта"]


@pytest.mark.parametrize(
    ("term", "names"),
    [
        ("Пупкин", ["Вася Пупкин"]),  # part of a name
        ("упки", ["Вася Пупкин"]),  # inside a word
        ("Копыта", ["Вася Пупкин"]),  # the company
        ("example.ru", ["Петя"]),  # the email
        ("ромашка", ["Петя"]),  # Cyrillic in another case
        ("ВАСЯ", ["Вася Пупкин"]),
        ("ROMASHKA", ["Ivan Petrov"]),
        ("Пет", ["Петя"]),
        ("Пупкин Рога", ["Вася Пупкин"]),  # two words: each in any field
        ("Пупкин Ромашка", []),  # two words: both must be there
        ('"Рога и"', ["Вася Пупкин"]),  # a quoted phrase is one word
        ('"Рога Копыта"', []),
        ("Ва", ["Вася Пупкин"]),  # shorter than a trigram
        ("Iv romashka", ["Ivan Petrov"]),  # a short word and an indexed one
        ("Сидоров", []),
    ],
)
def test_search_finds_every_word_in_name_company_or_email(contacts, term, names):
    assert found(term) == names


@pytest.mark.parametrize(
    "term", ['a"b', "Рога*", "NOT Вася", "Вася OR Петя", "(Вася)", "Вася:", "^Вас", "%", "_"]
)
def test_words_are_matched_as_plain_text(term):
    """The full-text query's own syntax and LIKE's wildcards mean nothing in a search."""
    save_contact(name=f"Клиент {term}", phones=[])
    save_contact(name="Клиент", phones=[])

    assert found(term) == [f"Клиент {term}"]


def test_search_after_an_edit(contacts):
    petya = Contact.objects.get(name="Петя")
    save_contact(contact=petya, name="Пётр Сидоров", company="", phones=[])

    assert found("Петя") == []
    assert found("Ромашка") == []
    assert found("сидоров") == ["Пётр Сидоров"]
    check_the_index()


def test_an_edit_of_other_fields_keeps_the_contact_found(contacts):
    Contact.objects.filter(name="Петя").update(notes="перезвонить", is_lead=True)

    assert found("Петя") == ["Петя"]
    check_the_index()


def test_search_after_a_delete(contacts):
    Contact.objects.filter(name="Петя").delete()

    assert found("Ромашка") == []
    check_the_index()


def test_search_after_a_bulk_update(contacts):
    Contact.objects.filter(company="ООО Ромашка").update(company="ООО Лютик")

    assert found("ромашка") == []
    assert found("лютик") == ["Петя"]
    check_the_index()


IMPORTED = (
    "name;company;phones;responsible;email\r\n"
    "Анна Лютикова;ООО Лютик;+7 920 111-00-01;;anna@example.ru\r\n"
    "Борис;;+7 920 111-00-02;;\r\n"
)
RE_IMPORTED = "name;company;phones\r\nАнна Сергеевна;Цветы;+7 920 111-00-01\r\n"


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("fast", [False, True], ids=["plain", "fast"])
def test_search_after_an_import(fast):
    import_contacts(io.BytesIO(IMPORTED.encode()), fast=fast)

    assert found("лютик") == ["Анна Лютикова"]
    assert found("борис") == ["Борис"]

    import_contacts(io.BytesIO(RE_IMPORTED.encode()), fast=fast)  # updates Анна

    assert found("лютик") == []
    assert found("сергеевна цветы") == ["Анна Сергеевна"]
    check_the_index()


@pytest.mark.django_db(transaction=True)
def test_search_after_an_import_of_batches_longer_than_a_statement():
    """The fast path's SQLite writer puts many rows in a statement: every one is indexed."""
    rows = "".join(f"Клиент {i};;+7 920 200-{i // 100:02d}-{i % 100:02d}\r\n" for i in range(1200))
    import_contacts(io.BytesIO(f"name;company;phones\r\n{rows}".encode()), fast=True)

    assert len(found("клиент")) == 1200
    assert found("клиент 1199") == ["Клиент 1199"]
    check_the_index()


def test_the_admin_searches_in_any_case(admin_client, contacts):
    response = admin_client.get(CONTACTS, {"q": "пупкин рога"})

    assert [c.name for c in response.context["cl"].result_list] == ["Вася Пупкин"]


def test_the_admin_still_finds_a_phone_number_exactly(admin_client, contacts):
    response = admin_client.get(CONTACTS, {"q": "8 (920) 111-96-13"})

    assert [c.name for c in response.context["cl"].result_list] == ["Вася Пупкин"]


@on_postgresql
def test_postgresql_reads_the_trigram_indexes(contacts):
    """The indexes serve Django's own `icontains` (UPPER(column) LIKE UPPER(...)): with the
    other ways to read the table priced out (the table is tiny), the plan reads all three."""
    query = search_contacts(Contact.objects.all(), "Пупкин")
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")  # the btree of the list's order
        plan = query.explain()

    for index in ("contact_name_trgm", "contact_company_trgm", "contact_email_trgm"):
        assert f"Bitmap Index Scan on {index}" in plan


@on_sqlite
def test_sqlite_reads_the_full_text_table(contacts):
    plan = search_contacts(Contact.objects.all(), "Пупкин").explain()

    assert "VIRTUAL TABLE INDEX" in plan and SEARCH_TABLE in plan


@on_sqlite
def test_sqlite_keeps_the_full_text_table_by_triggers_after_every_migration():
    """A migration that alters the contacts table rebuilds it on SQLite, dropping its
    triggers: that migration must create them again (see contacts/migrations/0007)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = %s",
            [Contact._meta.db_table],
        )
        triggers = sorted(name for (name,) in cursor.fetchall())

    assert triggers == [f"{SEARCH_TABLE}_{what}" for what in ("delete", "insert", "update")]
