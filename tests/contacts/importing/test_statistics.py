"""A big import leaves the planner statistics of the contact tables up to date, so the caller
lookup does not run on the statistics of an empty table until autovacuum comes."""
import io

import pytest
from django.db import connection

from contacts.importing import statistics
from contacts.importing.service import import_contacts

ROWS = 30


def csv_file(rows: int) -> io.BytesIO:
    lines = ["name,company,phones,responsible,email"]
    lines += [f"Client {i},Co {i},+7 920 {i:07d},," for i in range(rows)]
    return io.BytesIO("\n".join(lines).encode())


def planner_rows(table: str) -> float | None:
    """What the planner believes the table holds (None: no statistics at all)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT reltuples FROM pg_class WHERE relname = %s", [table])
            value = cursor.fetchone()[0]
            return None if value < 0 else value
        cursor.execute("SELECT name FROM sqlite_master WHERE name = 'sqlite_stat1'")
        if cursor.fetchone() is None:
            return None
        cursor.execute("SELECT stat FROM sqlite_stat1 WHERE tbl = %s AND idx IS NULL", [table])
        row = cursor.fetchone() or cursor.execute(
            "SELECT stat FROM sqlite_stat1 WHERE tbl = %s", [table]
        ).fetchone()
        return float(row[0].split()[0]) if row else None


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("fast", [False, True], ids=["plain path", "fast path"])
def test_a_big_import_ends_with_fresh_statistics(monkeypatch, fast):
    monkeypatch.setattr(statistics, "MIN_ROWS", ROWS)

    import_contacts(csv_file(ROWS), fast=fast)

    assert planner_rows("contacts_contact") == ROWS
    assert planner_rows("contacts_contactphone") == ROWS


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="VACUUM is PostgreSQL's")
def test_on_postgresql_the_tables_are_vacuumed_for_index_only_scans(monkeypatch):
    monkeypatch.setattr(statistics, "MIN_ROWS", ROWS)

    import_contacts(csv_file(ROWS))

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relallvisible FROM pg_class WHERE relname = 'contacts_contactphone'"
        )
        assert cursor.fetchone()[0] > 0


@pytest.mark.django_db(transaction=True)
def test_a_small_import_leaves_the_statistics_alone():
    import_contacts(csv_file(7))

    assert planner_rows("contacts_contact") != 7
