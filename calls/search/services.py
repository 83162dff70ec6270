"""The admin header's search: contacts and calls by a phone number in any format (exact on the
stored E.164) or by the words of a name or company (the indexes of contacts/search.py), each kind
shown only to who may see it, the first few of each."""
from dataclasses import dataclass

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.db.models import Prefetch, Q, QuerySet
from django.utils.translation import gettext

from calls.models import Call
from contacts.models import Contact, ContactPhone
from contacts.phones import format_phone, normalize_phone
from contacts.search import TRIGRAM, search_contacts, search_words

SHOWN = 20  # rows of each kind on the results page; the full lists are linked
CONTACT_PERMISSION = "contacts.view_contact"
CALL_PERMISSION = "calls.view_call"



@dataclass(frozen=True)
class FoundContact:
    """A matching contact with its numbers, readable."""

    contact: Contact
    phones: list[str]


@dataclass(frozen=True)
class FoundCall:
    """A matching call with its number, readable."""

    call: Call
    phone_display: str


@dataclass(frozen=True)
class Found:
    """The first SHOWN rows of one kind, and whether there are more."""

    rows: list[FoundContact] | list[FoundCall]
    more: bool


@dataclass(frozen=True)
class SearchResults:
    """What the results page shows for one query."""

    query: str
    phone: str | None = None  # the query as E.164, when it reads as a phone number
    problem: str | None = None  # why nothing was searched
    contacts: Found | None = None  # None: not searched, or the user may not see contacts
    calls: Found | None = None  # None: not searched, or the user may not see calls


def may_search(user: AbstractBaseUser | AnonymousUser) -> bool:
    """Whether the user may see anything the search finds: contacts or calls."""
    return user.has_perm(CONTACT_PERMISSION) or user.has_perm(CALL_PERMISSION)


def contacts_matching(queryset: QuerySet[Contact], term: str) -> QuerySet[Contact]:
    """Contacts having the number `term` (any format), else every word of it in their name,
    company or email."""
    e164 = normalize_phone(term)
    if e164:
        return queryset.filter(
            pk__in=ContactPhone.objects.filter(number=e164).values("contact_id")
        )
    if not any(search_words(term)):
        return queryset.none()
    return search_contacts(queryset, term)


def calls_matching(queryset: QuerySet[Call], term: str) -> QuerySet[Call]:
    """Calls with the number `term` (any format, exact on E.164) or the PBX call id `term`,
    else the calls of the contacts holding every word of `term` in their name, company or
    email (what the call log's search box finds)."""
    term = term.strip()
    by_callid = Q(callid=term)
    e164 = normalize_phone(term)
    if e164:
        return queryset.filter(Q(phone=e164) | by_callid)
    if not any(search_words(term)):
        return queryset.filter(by_callid)
    return queryset.filter(
        by_callid | Q(contact__in=search_contacts(Contact.objects.all(), term).values("pk"))
    )


def refusal(query: str) -> str | None:
    """Why `query` is not searched (empty, or no word the indexes can find), or None."""
    if not query:
        return gettext("Type a phone number, a name or a company to search for.")
    if normalize_phone(query) is None and all(len(word) < TRIGRAM for word in search_words(query)):
        return gettext(
            "Type a phone number in any format, or a name or company of at least %(count)d "
            "characters."
        ) % {"count": TRIGRAM}
    return None


def search(*, user: AbstractBaseUser | AnonymousUser, query: str) -> SearchResults:
    """The contacts and calls matching `query`, each kind if the user may see it."""
    query = query.strip()
    problem = refusal(query)
    if problem is not None:
        return SearchResults(query=query, problem=problem)
    contacts = calls = None
    if user.has_perm(CONTACT_PERMISSION):
        found = _first(
            contacts_matching(Contact.objects.all(), query)
            .select_related("responsible")
            .prefetch_related(Prefetch("phones", queryset=ContactPhone.objects.order_by("id")))
            .order_by("name", "id")
        )
        contacts = Found(
            rows=[FoundContact(contact, [format_phone(p.number) for p in contact.phones.all()])
                  for contact in found.rows],
            more=found.more,
        )
    if user.has_perm(CALL_PERMISSION):
        found = _first(
            calls_matching(Call.objects.all(), query)
            .select_related("contact", "agent")
            .order_by("-started_at", "-id")
        )
        calls = Found(rows=[FoundCall(call, format_phone(call.phone)) for call in found.rows],
                      more=found.more)
    return SearchResults(query=query, phone=normalize_phone(query), contacts=contacts,
                         calls=calls)


def _first(queryset: QuerySet) -> Found:
    rows = list(queryset[: SHOWN + 1])
    return Found(rows=rows[:SHOWN], more=len(rows) > SHOWN)
