"""Planning a batch of rows: what the database has for them, then where each row lands, as if
the rows were saved one by one, and what that changes (pure, once the database is read).

A row whose numbers include one already in the CRM lands on that contact (the lowest id if the
numbers belong to several); a row without numbers matches by exact name and company. Numbers
are merged, non-empty cells replace stored values; otherwise the row makes a new contact.
"""
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cached_property

from django.db.models import Model

from contacts.agents import ensure_agent
from contacts.importing.reading import ContactRow
from contacts.models import Contact, ContactPhone
from contacts.phones import format_phone

# A contact a batch row lands on: (0, id) for a stored contact, (1, n) for the n-th new one,
# so that min() picks the lowest id, as the lookup does.
Key = tuple[int, int]
STORED, NEW = 0, 1
IN_CHUNK = 900  # values per `IN (...)` query, under SQLite's variable limit


@dataclass(slots=True)
class Draft:
    """A contact as a batch leaves it: stored (with its id) or new, with the numbers it gains.

    Plain values, not a Contact: the fast path writes a million of them without model
    instances, which cost more than the rest of its work; writing.py makes its own.
    """

    id: int | None
    name: str
    company: str = ""
    email: str = ""
    responsible_id: int | None = None
    stored_phones: frozenset[str] = frozenset()
    new_phones: list[str] = field(default_factory=list)
    changed: bool = False

    def merge(self, row: ContactRow, agent_id: int | None) -> bool:
        """Apply a row: non-empty cells replace values, numbers are added. Whether it changed
        anything."""
        changed = False
        if row.name and self.name != row.name:
            self.name, changed = row.name, True
        if row.company and self.company != row.company:
            self.company, changed = row.company, True
        if row.email and self.email != row.email:
            self.email, changed = row.email, True
        if agent_id and self.responsible_id != agent_id:
            self.responsible_id, changed = agent_id, True
        for number in row.phones:
            if number not in self.stored_phones and number not in self.new_phones:
                self.new_phones.append(number)
                changed = True
        self.changed = self.changed or changed
        return changed

    def saved(self) -> "Draft":
        """The contact as stored once this draft is written, to draft on from."""
        phones = self.stored_phones.union(self.new_phones)
        return Draft(self.id, self.name, self.company, self.email, self.responsible_id, phones)


@dataclass
class Stored:
    """What the database has for a batch: the lowest contact id having each of its numbers,
    and having the name and company of each row without numbers; those contacts."""

    phone_owners: dict[str, Key]
    name_owners: dict[tuple[str, str], Key]
    contacts: dict[int, Draft]


@dataclass
class Counts:
    """Rows that created a contact, changed one, or matched one and changed nothing."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0

    def add(self, *, created: bool, changed: bool) -> None:
        if created:
            self.created += 1
        elif changed:
            self.updated += 1
        else:
            self.unchanged += 1

    def add_up(self, other: "Counts") -> None:
        self.created += other.created
        self.updated += other.updated
        self.unchanged += other.unchanged


@dataclass
class Plan:
    """A batch's writes: the contacts it creates and the stored ones it changes."""

    new: list[Draft]
    changed: list[Draft]
    counts: Counts
    rows: int  # how many of the batch's rows it covers: the others go to a batch of their own

    @cached_property
    def drafts(self) -> dict[int, Draft]:
        """The contacts the batch writes, by id (once the new ones have theirs)."""
        return {draft.id: draft for draft in (*self.changed, *self.new)}

    @cached_property
    def owners(self) -> dict[str, int]:
        """The numbers the batch gives contacts, with the lowest id among them."""
        owners: dict[str, int] = {}
        for draft in (*self.changed, *self.new):
            for number in draft.new_phones:
                owners[number] = min(owners.get(number, draft.id), draft.id)
        return owners


# The fields `names` of the rows of a model whose field `key` is one of the values given.
SelectIn = Callable[[type[Model], tuple[str, ...], str, list], Iterator[tuple]]


def select_in(
    model: type[Model], names: tuple[str, ...], key: str, values: list
) -> Iterator[tuple]:
    """The fields `names` of the model's rows whose `key` is one of `values`, by the ORM, a few
    hundred values a query."""
    found = model._default_manager.values_list(*names).order_by()
    for start in range(0, len(values), IN_CHUNK):
        yield from found.filter(**{f"{key}__in": values[start : start + IN_CHUNK]})


def look_up(
    rows: list[ContactRow], agents: dict[str, int | None], select: SelectIn | None = None
) -> Stored:
    """What the database has for a batch; the agents its rows name are created as needed
    (`agents`: agent ids by extension, filled in as rows name new ones). `select`: how rows
    are found by a list of keys (select_in by default)."""
    select = select or select_in
    for row in rows:
        if row.responsible not in agents:
            agent = ensure_agent(row.responsible)
            agents[row.responsible] = agent.pk if agent else None
    numbers = sorted({number for row in rows for number in row.phones})
    owned = list(select(ContactPhone, ("number", "contact_id"), "number", numbers))
    name_owners: dict[tuple[str, str], Key] = {}
    for row in rows:
        if not row.phones and (row.name, row.company) not in name_owners:
            found = Contact.objects.filter(name=row.name, company=row.company).order_by("id")
            contact_id = found.values_list("id", flat=True).first()
            if contact_id is not None:
                name_owners[row.name, row.company] = (STORED, contact_id)
    ids = sorted({pk for _, pk in owned} | {pk for _, pk in name_owners.values()})
    fields = ("id", "name", "company", "email", "responsible_id")
    contacts = {
        pk: Draft(pk, name, company, email, responsible_id)
        for pk, name, company, email, responsible_id in select(Contact, fields, "id", ids)
    }
    numbers_of: dict[int, set[str]] = {}
    for contact_id, number in select(ContactPhone, ("contact_id", "number"), "contact_id", ids):
        numbers_of.setdefault(contact_id, set()).add(number)
    for pk, contact in contacts.items():
        contact.stored_phones = frozenset(numbers_of.get(pk, ()))
    # A contact deleted meanwhile (in the admin, say) owns nothing any more.
    phone_owners: dict[str, Key] = {}
    for number, contact_id in owned:
        if contact_id in contacts:
            key = (STORED, contact_id)
            phone_owners[number] = min(phone_owners.get(number, key), key)
    name_owners = {pair: key for pair, key in name_owners.items() if key[1] in contacts}
    return Stored(phone_owners, name_owners, contacts)


def plan(
    rows: list[ContactRow],
    stored: Stored,
    agents: dict[str, int | None],
    in_flight: Sequence[Plan] = (),
) -> Plan:
    """Where each row lands, as if the rows were saved one by one, and what that changes.

    A row without numbers after rows that renamed contacts to or from its name is left, with
    the rows after it, to a plan of its own (`Plan.rows` says how many rows this one covers):
    the database, read before the batch, no longer tells which contact has that name.
    `in_flight`: batches planned before, maybe not written yet, which `stored` may not show
    (the fast path's writer threads, pipelining.py).
    """
    phone_owners, name_owners, contacts = stored.phone_owners, stored.name_owners, stored.contacts
    numbers = {number for row in rows for number in row.phones} if in_flight else set()
    for previous in in_flight:
        for number in numbers & previous.owners.keys():
            key = (STORED, previous.owners[number])
            phone_owners[number] = min(phone_owners.get(number, key), key)
    drafts: dict[Key, Draft] = {}
    new: list[Draft] = []
    counts = Counts()
    touched: set[tuple[str, str]] = set()  # names and companies contacts took or gave up
    for index, row in enumerate(rows):
        if row.phones:
            owners = [phone_owners[number] for number in row.phones if number in phone_owners]
            key = min(owners) if owners else None
        else:
            pair = (row.name, row.company)
            if pair in touched:
                return _planned(new, drafts, counts, index)
            key = name_owners.get(pair)
            if key is None:
                key = name_owners[pair] = (NEW, len(new))
        if key is None:
            key = (NEW, len(new))
        for number in row.phones:
            owner = phone_owners.get(number)
            if owner is None or key < owner:
                phone_owners[number] = key
        draft = drafts.get(key)
        created = draft is None and key[0] == NEW
        if created:
            draft = Draft(None, row.name or row.company or format_phone(row.phones[0]))
            new.append(draft)
            drafts[key] = draft
        elif draft is None:
            pending = [p.drafts[key[1]] for p in in_flight if key[1] in p.drafts]
            draft = drafts[key] = (pending[-1] if pending else contacts[key[1]]).saved()
        before = (draft.name, draft.company)
        changed = draft.merge(row, agents[row.responsible])
        counts.add(created=created, changed=changed)
        after = (draft.name, draft.company)
        if row.phones and (key[0] == NEW or after != before):
            touched.update((before, after))
    return _planned(new, drafts, counts, len(rows))


def _planned(new: list[Draft], drafts: dict[Key, Draft], counts: Counts, rows: int) -> Plan:
    changed = [draft for draft in drafts.values() if draft.id is not None and draft.changed]
    return Plan(new, changed, counts, rows)
