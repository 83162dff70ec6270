"""Contacts by the words of a search: every word in the name, the company or the email, in any
case (the admin's search box, which splits words as Django's admin does).

Each database answers from an index made by migration 0007 (docs/speed.md#name-search):

- PostgreSQL: `icontains`, which Django writes `UPPER(name) LIKE UPPER('%word%')`, served by
  the pg_trgm GIN indexes on UPPER(name), UPPER(company) and UPPER(email);
- SQLite: words of 3 characters or more are looked up in the FTS5 table SEARCH_TABLE
  (trigram tokenizer: substrings, case-folded beyond ASCII), which triggers keep in step with
  the contacts table; shorter words, which a trigram index cannot find, by `icontains`
  (SQLite's LIKE, which folds only ASCII letters).
"""
import operator
from functools import reduce

from django.db import connections
from django.db.models import Q, QuerySet
from django.db.models.expressions import RawSQL
from django.utils.text import smart_split, unescape_string_literal

SEARCH_FIELDS = ("name", "company", "email")
SEARCH_TABLE = "contacts_contact_search"  # SQLite only
TRIGRAM = 3  # characters: the index finds no shorter word


def search_words(term: str) -> list[str]:
    """The words of `term` as Django's admin splits them: by spaces, "a quoted phrase" one."""
    words = []
    for bit in smart_split(term):
        if bit.startswith(('"', "'")) and bit[0] == bit[-1]:
            bit = unescape_string_literal(bit)
        words.append(bit)
    return words


def search_contacts(queryset: QuerySet, term: str) -> QuerySet:
    """The contacts of `queryset` holding every word of `term` in their name, company or email."""
    words = search_words(term)
    if connections[queryset.db].vendor == "sqlite":
        indexed = [word for word in words if len(word) >= TRIGRAM]
        words = [word for word in words if len(word) < TRIGRAM]
        if indexed:
            queryset = queryset.filter(pk__in=_full_text_match(indexed))
    for word in words:
        queryset = queryset.filter(
            reduce(operator.or_, (Q(**{f"{field}__icontains": word}) for field in SEARCH_FIELDS))
        )
    return queryset


def _full_text_match(words: list[str]) -> RawSQL:
    """The ids of the contacts holding every word (SQLite's FTS5 table): one MATCH of them all,
    which reads the rarest word's few rows rather than every row of a common one."""
    phrases = " AND ".join('"{}"'.format(word.replace('"', '""')) for word in words)
    return RawSQL(f"SELECT rowid FROM {SEARCH_TABLE} WHERE {SEARCH_TABLE} MATCH %s", [phrases])
