"""After a big import: the database's planner statistics brought up to date at once.

Right after a million new rows PostgreSQL still plans the caller lookup on the statistics of
the empty table until autovacuum gets round to it, minutes later, and the lookup runs at half
speed meanwhile (`make bench`: 0.47 of its speed at 10 000 contacts). So an import that wrote
many rows ends with ANALYZE of the tables it filled, and on PostgreSQL a VACUUM too (it sets
the visibility map that lets the lookup's index-only scans skip the table).
"""
from django.db import connection

from contacts.models import Contact, ContactPhone

# Fewer written rows than this leave the statistics to autovacuum (or SQLite's defaults).
MIN_ROWS = 10_000
# SQLite samples this many index rows per index instead of reading every one.
SQLITE_ANALYSIS_LIMIT = 1000


def refresh_statistics(written: int) -> bool:
    """Bring the planner statistics of the contact tables up to date after `written` rows;
    True when it did. VACUUM needs to run outside a transaction: inside one, ANALYZE only."""
    if written < MIN_ROWS:
        return False
    tables = [connection.ops.quote_name(model._meta.db_table) for model in (Contact, ContactPhone)]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            command = "ANALYZE" if connection.in_atomic_block else "VACUUM (ANALYZE)"
            cursor.execute(f"{command} {', '.join(tables)}")
        elif connection.vendor == "sqlite":
            cursor.execute(f"PRAGMA analysis_limit = {SQLITE_ANALYSIS_LIMIT}")
            for table in tables:
                cursor.execute(f"ANALYZE {table}")
        else:
            return False
    return True
