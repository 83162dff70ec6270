"""Admin for contacts: phones typed in any format are stored in E.164."""
from django import forms
from django.contrib import admin
from django.db.models import Prefetch, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from calls.admin import search_by_phone
from contacts.models import Contact, ContactPhone
from contacts.phones import format_phone, normalize_phone


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


class ContactPhoneInline(admin.TabularInline):
    model = ContactPhone
    form = ContactPhoneForm
    extra = 1


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin):
    list_display = ["name", "company", "phone_list", "responsible", "email", "updated_at"]
    list_filter = [("responsible", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["name", "company", "email"]
    search_help_text = _("Name, company, email, or a phone number in any format.")
    autocomplete_fields = ["responsible"]
    show_full_result_count = False
    inlines = [ContactPhoneInline]
    fields = ["name", "company", "email", "responsible", "notes"]

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
        found = search_by_phone(queryset, search_term, "phones__number")
        if found is not None:
            return found, True
        return super().get_search_results(request, queryset, search_term)

    @admin.display(description=_("phone numbers"))
    def phone_list(self, contact: Contact) -> str:
        return ", ".join(format_phone(phone.number) for phone in contact.phones.all())
