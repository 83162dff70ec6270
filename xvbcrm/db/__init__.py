"""The database code of xvbcrm's own, where stock Django costs a waiting caller too much.

Every piece here was measured against Django's own way (docs/speed.md, "What the caller
lookup keeps of its own" and "What event ingest keeps of its own") and kept because the
lookup, or event ingest, was markedly slower without it; everything else uses the ORM and
Django's backends as they are.

- `CompiledQuery`: a QuerySet compiled to SQL once per process and run with new values, on
  PostgreSQL as a prepared statement planned once per connection (`DB_PREPARED_STATEMENTS`).
  The ORM spends more time writing a query than SQLite spends running it, and PostgreSQL
  plans a statement sent with its values inlined (Django's client-side binding) on every
  call. Used by the lookup's reads (the caller, the last talk, the webhook throttle) and by
  an event's (its call with its events, the lookups it may take, the open callback).
  `model_columns` and `instances` turn its rows back into models (Model.from_db).
- `insert_row`, `insert_rows`: rows written in one INSERT without the ORM's save machinery,
  for new rows (an event's new call, its row and its journal row; the lookup's decision and
  its journal row); several rows in one statement on PostgreSQL, all or none.
- `base.py`, the PostgreSQL backend (`ENGINE = "xvbcrm.db"`): Django's, with a health check
  of a kept connection that costs no round trip when it can.
- `sqlite/base.py`, the SQLite backend (`ENGINE = "xvbcrm.db.sqlite"`): Django's, with a
  transaction's `BEGIN IMMEDIATE` tried again every half millisecond while another writer
  holds the lock, instead of sleeping up to 100 ms at a time in SQLite's busy handler.

Queries still go through Django's cursor wrapper: connection handling, health checks,
`execute_wrapper` and query logging see them as any other query.
"""
import functools
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, NotSupportedError, connection, connections, transaction
from django.db.models import Model, QuerySet
from django.utils import timezone

# PostgreSQL's feature_not_supported: here, a prepared statement whose result type changed.
STALE_PLAN = "0A000"


def _cursor():
    """Django's cursor; on PostgreSQL over a server-binding psycopg cursor (preparable)."""
    cursor = connection.cursor()  # connects and health-checks as Django does
    if connection.vendor != "postgresql":
        return cursor
    from django.db.backends.postgresql.base import ServerBindingCursor

    cursor.close()
    raw = ServerBindingCursor(connection.connection)
    if connection.queries_logged:
        return connection.make_debug_cursor(raw)
    return connection.make_cursor(raw)


def _adapt(value: Any) -> Any:
    """A value as the ORM passes it to the driver (datetimes are the only type that differs)."""
    if isinstance(value, datetime):
        if settings.USE_TZ and timezone.is_naive(value):
            raise ValueError(f"a naive datetime in a compiled query: {value!r}")
        return connection.ops.adapt_datetimefield_value(value)
    return value


def _execute(sql: str, params: Sequence[Any], *, every_row: bool = False) -> Any:
    """Run a statement; its first row if it returns rows (all of them, `every_row`).

    A prepared statement outlives a migration that changed a column it returns, and
    PostgreSQL then refuses it ("cached plan must not change result type") on that kept
    connection until it closes: the connection is replaced and the statement run once more.
    """
    for attempt in (1, 2):
        try:
            with _cursor() as cursor:
                cursor.execute(sql, params)
                if not cursor.description:
                    return None
                return cursor.fetchall() if every_row else cursor.fetchone()
        except NotSupportedError as exc:
            stale = getattr(exc.__cause__, "sqlstate", None) == STALE_PLAN
            if attempt == 2 or not stale or connection.in_atomic_block:
                raise
            connection.close()
    raise AssertionError("unreachable")


class CompiledQuery:
    """A QuerySet compiled once per process and database vendor, run with new values.

    `build(**samples)` makes the QuerySet; every sample value must appear among the compiled
    query's parameters (once, or in several places, each refilled), and be a value no other
    parameter has, so that its places can be found and refilled with the value of each run.
    A sample that is not a parameter fails at the first run, loudly.
    """

    def __init__(self, build: Callable[..., QuerySet], **samples: Any) -> None:
        self.build = build
        self.samples = samples

    @functools.cache  # noqa: B019 -- one per query object and vendor, for the process's life
    def _compiled(self, vendor: str) -> tuple[str, tuple[Any, ...], dict[str, list[int]], list]:
        compiler = self.build(**self.samples).query.get_compiler(connection=connection)
        sql, params = compiler.as_sql()
        params = tuple(params)
        slots = {}
        for name, sample in self.samples.items():
            places = [i for i, param in enumerate(params) if param == _adapt(sample)]
            if not places:
                raise RuntimeError(f"{name}={sample!r} is not a parameter of: {sql} {params}")
            slots[name] = places
        # The ORM's converters of each column that has any (SQLite's booleans and datetimes).
        converters = []
        for place, (column, _, _) in enumerate(compiler.select):
            functions = (connection.ops.get_db_converters(column)
                         + column.get_db_converters(connection))
            if functions:
                converters.append((place, column, functions))
        return sql, params, slots, converters

    def fetch_one(self, **values: Any) -> tuple | None:
        """The first row of the query run with these values (the samples' names), its values
        converted as the ORM converts them (SQLite's booleans and datetimes, say)."""
        sql, filled, converters = self._filled(values)
        row = _execute(sql, filled)
        return None if row is None else _converted(row, converters)

    def fetch_all(self, **values: Any) -> list[tuple]:
        """Every row of the query run with these values, converted as fetch_one's."""
        sql, filled, converters = self._filled(values)
        return [_converted(row, converters) for row in _execute(sql, filled, every_row=True)]

    def _filled(self, values: dict[str, Any]) -> tuple[str, list[Any], list]:
        sql, params, slots, converters = self._compiled(connection.vendor)
        filled = list(params)
        for name, places in slots.items():
            for place in places:
                filled[place] = _adapt(values[name])
        return sql, filled, converters


def _converted(row: Sequence[Any], converters: list) -> tuple:
    """A row's values as the ORM's converters make them."""
    values = list(row)
    for place, column, functions in converters:
        for convert in functions:
            values[place] = convert(values[place], column, connection)
    return tuple(values)


@functools.cache
def _insert_sql(model: type[Model], vendor: str) -> tuple[str, tuple]:
    """`INSERT INTO table (every column but the automatic id) VALUES (...)` and its fields."""
    fields = tuple(
        field for field in model._meta.concrete_fields
        if not (field.primary_key and field.db_returning)
    )
    if any(hasattr(field, "get_placeholder") for field in fields):
        raise RuntimeError(f"{model.__name__} has a field with its own SQL placeholder")
    quote = connection.ops.quote_name
    columns = ", ".join(quote(field.column) for field in fields)
    values = ", ".join(["%s"] * len(fields))
    return f"INSERT INTO {quote(model._meta.db_table)} ({columns}) VALUES ({values})", fields


def _insert_params(instance: Model, fields: tuple) -> list[Any]:
    database = connections[DEFAULT_DB_ALIAS]  # the thread's own, not the `connection` proxy
    return [field.get_db_prep_save(field.pre_save(instance, True), database) for field in fields]


def insert_row(instance: Model, *, read_id: bool = False) -> None:
    """Store a new row in one statement, without reading its id back (it stays None), or,
    `read_id`, reading it in the same statement (RETURNING) onto the instance, which is
    then stored as a save() leaves it.

    No signals are sent (none of xvbcrm's models has receivers).
    """
    model = type(instance)
    sql, fields = _insert_sql(model, connection.vendor)
    if not read_id:
        _execute(sql, _insert_params(instance, fields))
        return
    pk = model._meta.pk
    returning = f"{sql} RETURNING {connection.ops.quote_name(pk.column)}"
    (instance.pk,) = _execute(returning, _insert_params(instance, fields))
    instance._state.adding = False
    instance._state.db = connection.alias


def insert_rows(*instances: Model) -> None:
    """Store new rows all or none, as insert_row does each; on PostgreSQL in one statement
    (`WITH a AS (INSERT ...) INSERT ...`: one round trip, atomic by itself), elsewhere in
    one transaction."""
    if connection.vendor != "postgresql":
        with transaction.atomic():
            for instance in instances:
                insert_row(instance)
        return
    parts, params = [], []
    for instance in instances:
        sql, fields = _insert_sql(type(instance), connection.vendor)
        parts.append(sql)
        params += _insert_params(instance, fields)
    *first, last = parts
    ctes = ", ".join(f"_row{number} AS ({sql})" for number, sql in enumerate(first))
    _execute(f"WITH {ctes} {last}" if ctes else last, params)


def model_columns(model: type[Model], path: str = "") -> list[str]:
    """The lookups of a model's concrete fields (`path__attname`), for a values_list whose rows
    `instances` turns back into models."""
    return [f"{path}__{field.attname}" if path else field.attname
            for field in model._meta.concrete_fields]


def instances(row: Sequence[Any], *models: type[Model]) -> list[Model | None]:
    """The models of a row of `model_columns` of each, in turn, made by Model.from_db as the
    ORM makes them; None for a model whose every value is None (an outer join's miss)."""
    made, start = [], 0
    for model in models:
        names = [field.attname for field in model._meta.concrete_fields]
        values = row[start:start + len(names)]
        start += len(names)
        missing = all(value is None for value in values)
        made.append(None if missing else model.from_db(connection.alias, names, values))
    if start != len(row):
        raise ValueError(f"a row of {len(row)} values for {start} columns")
    return made
