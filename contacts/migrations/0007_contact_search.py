# The indexes of the contacts' search by name, company or email (contacts/search.py), each
# database its own, outside Django's model state:
#
# - PostgreSQL: the pg_trgm extension (CREATE EXTENSION needs a superuser or, pg_trgm being
#   trusted since PostgreSQL 13, the database's owner; django.contrib.postgres's
#   TrigramExtension would run its reverse on SQLite too) and GIN trigram indexes on
#   UPPER(column), the expression Django's `icontains` compares;
# - SQLite: the FTS5 table contacts_contact_search (trigram tokenizer, SQLite 3.34 or later)
#   over the contacts table, filled from it, and triggers keeping it in step.
#
# On SQLite, a later migration that alters contacts_contact rebuilds the table, which drops
# its triggers: it must create them again (tests/contacts/test_search.py checks they exist).

from django.db import migrations

SEARCH_COLUMNS = ("name", "company", "email")

POSTGRESQL_FORWARDS = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    *(
        f"CREATE INDEX contact_{column}_trgm ON contacts_contact"
        f" USING gin (UPPER({column}) gin_trgm_ops)"
        for column in SEARCH_COLUMNS
    ),
]
# The extension stays: dropping it is for its owner to decide.
POSTGRESQL_BACKWARDS = [
    f"DROP INDEX IF EXISTS contact_{column}_trgm" for column in SEARCH_COLUMNS
]

_COLUMNS = ", ".join(SEARCH_COLUMNS)
_NEW = ", ".join(f"new.{column}" for column in SEARCH_COLUMNS)
_OLD = ", ".join(f"old.{column}" for column in SEARCH_COLUMNS)
_CHANGED = " OR ".join(f"old.{column} IS NOT new.{column}" for column in SEARCH_COLUMNS)
_ADD = f"INSERT INTO contacts_contact_search(rowid, {_COLUMNS}) VALUES (new.id, {_NEW});"
# An external-content FTS5 table forgets a row given the values it indexed.
_REMOVE = (
    f"INSERT INTO contacts_contact_search(contacts_contact_search, rowid, {_COLUMNS})"
    f" VALUES ('delete', old.id, {_OLD});"
)
SQLITE_FORWARDS = [
    f"CREATE VIRTUAL TABLE contacts_contact_search USING fts5({_COLUMNS},"
    " content='contacts_contact', content_rowid='id', tokenize='trigram')",
    "INSERT INTO contacts_contact_search(contacts_contact_search) VALUES ('rebuild')",
    "CREATE TRIGGER contacts_contact_search_insert AFTER INSERT ON contacts_contact"
    f" BEGIN {_ADD} END",
    "CREATE TRIGGER contacts_contact_search_delete AFTER DELETE ON contacts_contact"
    f" BEGIN {_REMOVE} END",
    f"CREATE TRIGGER contacts_contact_search_update AFTER UPDATE OF {_COLUMNS}"
    f" ON contacts_contact WHEN {_CHANGED} BEGIN {_REMOVE} {_ADD} END",
]
SQLITE_BACKWARDS = [
    "DROP TRIGGER IF EXISTS contacts_contact_search_insert",
    "DROP TRIGGER IF EXISTS contacts_contact_search_delete",
    "DROP TRIGGER IF EXISTS contacts_contact_search_update",
    "DROP TABLE IF EXISTS contacts_contact_search",
]

FORWARDS = {"postgresql": POSTGRESQL_FORWARDS, "sqlite": SQLITE_FORWARDS}
BACKWARDS = {"postgresql": POSTGRESQL_BACKWARDS, "sqlite": SQLITE_BACKWARDS}


def _run(statements: dict[str, list[str]], schema_editor) -> None:
    for statement in statements.get(schema_editor.connection.vendor, []):
        schema_editor.execute(statement)


def create_indexes(apps, schema_editor) -> None:
    _run(FORWARDS, schema_editor)


def drop_indexes(apps, schema_editor) -> None:
    _run(BACKWARDS, schema_editor)


class Migration(migrations.Migration):

    dependencies = [
        ('contacts', '0006_agent'),
    ]

    operations = [
        migrations.RunPython(create_indexes, drop_indexes),
    ]
