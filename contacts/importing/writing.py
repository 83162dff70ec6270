"""Writing a planned batch with the ORM's bulk queries: new contacts, the stored ones it
changes (an upsert on the id), then the numbers they gain."""
from contacts.importing.planning import Draft, Plan
from contacts.models import Contact, ContactPhone

# What an import sets on a stored contact (updated_at: auto_now); its other fields (notes,
# lead...) stay as they are.
UPDATED_FIELDS = ("name", "company", "email", "responsible", "updated_at")


def _contact(draft: Draft) -> Contact:
    return Contact(
        id=draft.id, name=draft.name, company=draft.company, email=draft.email,
        responsible_id=draft.responsible_id,
    )


def write(plan: Plan) -> None:
    """Store a planned batch (inside the caller's transaction); new drafts get their ids."""
    if plan.new:
        created = Contact.objects.bulk_create([_contact(draft) for draft in plan.new])
        for draft, contact in zip(plan.new, created, strict=True):
            draft.id = contact.pk
    if plan.changed:  # the insert's values are dropped: only UPDATED_FIELDS are set
        Contact.objects.bulk_create(
            [_contact(draft) for draft in plan.changed],
            update_conflicts=True, unique_fields=["id"], update_fields=UPDATED_FIELDS,
        )
    phones = [
        ContactPhone(contact_id=draft.id, number=number)
        for draft in (*plan.new, *plan.changed)
        for number in draft.new_phones
    ]
    # A number someone gave the same contact meanwhile (in the admin, say) is left alone.
    ContactPhone.objects.bulk_create(phones, ignore_conflicts=True)
