"""The fast path's SQL, for big files: a planned batch written with raw bulk SQL (PostgreSQL:
binary COPY), without model instances, which cost more than the rest of an import of a million
rows (docs/importing.md has the figures), and the batch's lookups. Same results as writing.py,
the plain ORM writer, and planning.select_in.
"""
from collections.abc import Callable, Iterator

from django.db import connection
from django.db.backends.utils import CursorWrapper
from django.db.models import Field, Model
from django.utils import timezone

from contacts.importing.planning import IN_CHUNK, Draft, Plan
from contacts.models import Contact, ContactPhone

# Columns an import fills in; the other Contact fields get their defaults.
_CONTACT_VALUES = ("name", "company", "email", "responsible", "created_at", "updated_at")


def _table(model: type[Model]) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _columns_sql(model: type[Model], *names: str) -> str:
    """The quoted columns of these fields, comma-separated."""
    quote = connection.ops.quote_name
    return ", ".join(quote(model._meta.get_field(name).column) for name in names)


def select_in(
    model: type[Model], names: tuple[str, ...], key: str, values: list
) -> Iterator[tuple]:
    """planning.select_in without the ORM's preparing of each value, which costs more than the
    query (PostgreSQL: all the values at once, in one string rather than as many parameters,
    which cost ~2 µs each)."""
    if not values:
        return
    select = f"SELECT {_columns_sql(model, *names)} FROM {_table(model)}"
    column = _columns_sql(model, key)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cast = model._meta.get_field(key).cast_db_type(connection)
            array = f"string_to_array(%s, ',')::{cast}[]"
            cursor.execute(f"{select} WHERE {column} = ANY({array})", [",".join(map(str, values))])
            yield from cursor.fetchall()
            return
        for start in range(0, len(values), IN_CHUNK):
            chunk = values[start : start + IN_CHUNK]
            cursor.execute(f"{select} WHERE {column} IN ({', '.join(['%s'] * len(chunk))})", chunk)
            yield from cursor.fetchall()


def prepare(cursor: CursorWrapper) -> None:
    """Settings for a batch's transaction."""
    if connection.vendor == "postgresql":
        # A batch's lookups probe a few thousand keys: an index scan, always. The planner
        # prefers to scan the whole table for so long an `= ANY(...)`, ten times slower here
        # and ever slower as the import grows the table.
        cursor.execute("SET LOCAL enable_seqscan = off")


def _other_contact_fields() -> list[Field]:
    """The Contact fields an import leaves at their defaults (notes, is_lead, lead_number...)."""
    return [
        f for f in Contact._meta.concrete_fields
        if not f.primary_key and f.name not in _CONTACT_VALUES
    ]


def assign_ids(cursor: CursorWrapper, drafts: list[Draft]) -> None:
    """Ids for new contacts from the table's sequence (PostgreSQL), before they are written."""
    if not drafts or drafts[0].id is not None:
        return
    cursor.execute(
        "WITH found AS MATERIALIZED (SELECT pg_get_serial_sequence(%s, %s)::regclass AS seq)"
        " SELECT nextval(seq) FROM found, generate_series(1, %s)",
        [Contact._meta.db_table, Contact._meta.pk.column, len(drafts)],
    )
    for draft, (pk,) in zip(drafts, sorted(cursor.fetchall()), strict=True):
        draft.id = pk


def _insert_contacts(cursor: CursorWrapper, drafts: list[Draft], now: object) -> None:
    """Insert new contacts (their ids assigned, or given here)."""
    if not drafts:
        return
    others = _other_contact_fields()
    defaults = tuple(f.get_db_prep_save(f.get_default(), connection) for f in others)
    names = [*_CONTACT_VALUES, *(f.name for f in others)]
    values = [(d.name, d.company, d.email, d.responsible_id, now, now, *defaults) for d in drafts]
    if connection.vendor == "postgresql":
        assign_ids(cursor, drafts)
        rows = [(d.id, *v) for d, v in zip(drafts, values, strict=True)]
        _copy(cursor, Contact, ["id", *names], rows)
        return
    # SQLite: the transaction holds the database's write lock. The first row takes the id the
    # database picks (past every id it ever gave), the others the ones after it.
    _insert(cursor, Contact, names, values[:1])
    first = cursor.lastrowid
    for pk, draft in enumerate(drafts, start=first):
        draft.id = pk
    rows = [(d.id, *v) for d, v in zip(drafts[1:], values[1:], strict=True)]
    _insert(cursor, Contact, ["id", *names], rows)


def _insert(cursor: CursorWrapper, model: type[Model], names: list[str], rows: list[tuple]) -> None:
    """Rows into the model's table, as many a statement as the database takes parameters. On
    SQLite, the contacts' search index (the FTS5 table migration 0007's triggers fill) costs
    three times as much filled by a statement per row."""
    fields = [model._meta.get_field(name) for name in names]
    size = connection.ops.bulk_batch_size(fields, rows)
    row = f"({', '.join(['%s'] * len(names))})"
    insert = f"INSERT INTO {_table(model)} ({_columns_sql(model, *names)}) VALUES "
    for start in range(0, len(rows), size):
        chunk = rows[start : start + size]
        cursor.execute(insert + ", ".join([row] * len(chunk)), [v for r in chunk for v in r])


def _copy(cursor: CursorWrapper, model: type[Model], names: list[str], rows: list[tuple]) -> None:
    """PostgreSQL's binary COPY of rows into the model's table: the fastest way in, and
    psycopg formats the rows in C."""
    sql = f"COPY {_table(model)} ({_columns_sql(model, *names)}) FROM STDIN (FORMAT BINARY)"
    types = [model._meta.get_field(name).db_type(connection).split("(")[0] for name in names]
    with cursor.copy(sql) as copy:
        copy.set_types(types)
        for row in rows:
            copy.write_row(row)


def _update_contacts(cursor: CursorWrapper, drafts: list[Draft], now: object) -> None:
    """Store the new values of changed stored contacts."""
    if not drafts:
        return
    names = ("name", "company", "email", "responsible", "updated_at")
    sets = ", ".join(f"{_columns_sql(Contact, name)} = %s" for name in names)
    cursor.executemany(
        f"UPDATE {_table(Contact)} SET {sets} WHERE {_columns_sql(Contact, 'id')} = %s",
        [(d.name, d.company, d.email, d.responsible_id, now, d.id) for d in drafts],
    )


def _insert_phones(cursor: CursorWrapper, drafts: list[Draft], *, new: bool) -> None:
    """Insert the drafts' new numbers; a number another writer just gave the same contact is
    left alone (new contacts, which no one else knows yet, have no such conflicts)."""
    rows = [(d.id, number) for d in drafts for number in d.new_phones]
    if not rows:
        return
    if new and connection.vendor == "postgresql":
        _copy(cursor, ContactPhone, ["contact", "number"], rows)
        return
    cursor.executemany(
        f"INSERT INTO {_table(ContactPhone)} ({_columns_sql(ContactPhone, 'contact', 'number')})"
        " VALUES (%s, %s) ON CONFLICT DO NOTHING",
        rows,
    )


def write(
    cursor: CursorWrapper, plan: Plan, *, before_changes: Callable[[], None] | None = None
) -> None:
    """A planned batch's inserts and updates. `before_changes` runs after the new contacts
    are written and before the stored ones are changed (a writer thread waits there)."""
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    _insert_contacts(cursor, plan.new, now)
    _insert_phones(cursor, plan.new, new=True)
    if before_changes is not None:
        before_changes()
    _update_contacts(cursor, plan.changed, now)
    _insert_phones(cursor, plan.changed, new=False)
