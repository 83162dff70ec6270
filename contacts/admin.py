"""Admin for contacts and agents: phones typed in any format are stored in E.164.

The contact page's "Call" buttons and action are click-to-call's: calls/clicktocall/admin.py
registers the contact admin again with them added.
"""
from django import forms
from django.contrib import admin, messages
from django.db.models import Prefetch, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from contacts.agents import mark_away
from contacts.leads import complete_leads
from contacts.models import Agent, Contact, ContactPhone
from contacts.phones import format_phone, normalize_phone
from contacts.search import SEARCH_FIELDS, search_contacts
from contacts.services import may_assign
from xvbcrm.admin import CappedCountPaginator, search_by_phone


@admin.register(Agent)
class AgentAdmin(admin.ModelAdmin):
    list_display = ["extension", "name", "user", "is_active", "is_away", "away_since"]
    list_editable = ["is_active", "is_away"]
    list_filter = ["is_active", "is_away"]
    search_fields = ["extension", "name", "user__username"]
    autocomplete_fields = ["user"]
    readonly_fields = ["away_since", "created_at"]

    def save_model(self, request: HttpRequest, obj: Agent, form: object, change: bool) -> None:
        if "is_away" in getattr(form, "changed_data", ()):
            mark_away(obj, away=obj.is_away)
        super().save_model(request, obj, form, change)


class ContactPhoneForm(forms.ModelForm):
    class Meta:
        model = ContactPhone
        fields = ["number"]

    def clean_number(self) -> str:
        raw = self.cleaned_data["number"]
        e164 = normalize_phone(raw)
        if e164 is None:
            raise forms.ValidationError(
                _("“%(value)s” is not a phone number."), params={"value": raw}, code="invalid"
            )
        return e164


def prefilled_phone(request: HttpRequest) -> str | None:
    """`?phone=` of "Create contact" (the call pop-up), as E.164, on the add form's GET."""
    if request.method != "GET":
        return None
    return normalize_phone(request.GET.get("phone", ""))


class ContactPhoneInline(admin.TabularInline):
    """A contact's numbers: part of the contact, so the contact's permissions govern them."""

    model = ContactPhone
    form = ContactPhoneForm
    extra = 1

    def _contact_perm(self, request: HttpRequest, action: str) -> bool:
        return request.user.has_perm(f"contacts.{action}_contact")

    def has_view_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return self._contact_perm(request, "view") or self._contact_perm(request, "change")

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return self._contact_perm(request, "change") or self._contact_perm(request, "add")

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return self._contact_perm(request, "change") or self._contact_perm(request, "add")

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return self._contact_perm(request, "change")


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin):
    list_display = [
        "name", "company", "phone_list", "responsible", "email", "is_lead", "updated_at",
    ]
    # Every agent is offered, not only the responsible ones: no DISTINCT over all contacts.
    list_filter = ["is_lead", "responsible"]
    search_fields = list(SEARCH_FIELDS)  # see get_search_results
    search_help_text = _("Name, company, email, or a phone number in any format.")
    autocomplete_fields = ["responsible"]
    show_full_result_count = False
    paginator = CappedCountPaginator
    inlines = [ContactPhoneInline]
    fields = ["name", "company", "email", "responsible", "notes", "is_lead"]
    actions = ["complete_leads"]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return (
            super()
            .get_queryset(request)
            .select_related("responsible")
            .prefetch_related(Prefetch("phones", queryset=ContactPhone.objects.order_by("id")))
        )

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet, search_term: str
    ) -> tuple[QuerySet, bool]:
        """A phone number in any format, else words of the name, company or email, found by
        each database's index (contacts/search.py)."""
        found = search_by_phone(queryset, search_term, "phones__number")
        if found is not None:
            return found, True  # a contact with two matching numbers is one contact
        return search_contacts(queryset, search_term), False

    @admin.display(description=_("phone numbers"))
    def phone_list(self, contact: Contact) -> str:
        return ", ".join(format_phone(phone.number) for phone in contact.phones.all())

    def get_formset_kwargs(
        self, request: HttpRequest, obj: Contact, inline: admin.options.InlineModelAdmin,
        prefix: str,
    ) -> dict:
        kwargs = super().get_formset_kwargs(request, obj, inline, prefix)
        phone = prefilled_phone(request) if obj.pk is None else None
        if phone and isinstance(inline, ContactPhoneInline):
            # Only on the empty form's GET: on POST an unchanged initial row would be skipped.
            kwargs["initial"] = [{"number": phone}]
        return kwargs

    def get_readonly_fields(self, request: HttpRequest, obj: Contact | None = None) -> list:
        """The responsible agent is set only with "Can assign contacts", adding included."""
        readonly = list(super().get_readonly_fields(request, obj))
        return readonly if may_assign(request.user) else [*readonly, "responsible"]

    @admin.action(description=_("Mark the selected leads as completed contacts"),
                  permissions=["change"])
    def complete_leads(self, request: HttpRequest, queryset: QuerySet) -> None:
        done = complete_leads(queryset)
        self.message_user(
            request, gettext("Leads completed: %(count)d.") % {"count": done}, messages.SUCCESS
        )
