"""REST API for contacts: phones in any format in, E.164 out."""
import django_filters
from django.db.models import Prefetch, QuerySet
from rest_framework import serializers, viewsets

from calls.api import filter_phone
from calls.models import Agent
from calls.services import ensure_agent
from contacts.models import Contact, ContactPhone
from contacts.phones import normalize_phone
from contacts.services import save_contact


class PhoneField(serializers.CharField):
    """A phone number: any format in, E.164 out; a non-number is a validation error."""

    def to_internal_value(self, data: object) -> str:
        raw = super().to_internal_value(data)
        e164 = normalize_phone(raw)
        if e164 is None:
            raise serializers.ValidationError(f"{raw!r} is not a phone number.")
        return e164


class ResponsibleField(serializers.Field):
    """An agent by extension; unknown extensions are created, as in PBX traffic."""

    def to_representation(self, agent: Agent) -> str:
        return agent.extension

    def to_internal_value(self, data: object) -> Agent | None:
        if data in (None, ""):
            return None
        extension = str(data).strip()
        if not extension.isdigit() or len(extension) > 32:
            raise serializers.ValidationError("An extension is digits only.")
        return ensure_agent(extension)


class ContactSerializer(serializers.ModelSerializer):
    phones = serializers.ListField(child=PhoneField(), allow_empty=True, required=False)
    responsible = ResponsibleField(required=False, allow_null=True)

    class Meta:
        model = Contact
        fields = ["id", "name", "company", "email", "notes", "phones", "responsible"]

    def to_representation(self, contact: Contact) -> dict:
        data = super().to_representation(contact)
        data["phones"] = [phone.number for phone in contact.phones.all()]
        return data

    def create(self, validated_data: dict) -> Contact:
        return save_contact(**validated_data)

    def update(self, contact: Contact, validated_data: dict) -> Contact:
        fields = {
            "name": contact.name,
            "company": contact.company,
            "email": contact.email,
            "responsible": contact.responsible,
            "phones": [phone.number for phone in contact.phones.all()],
            **validated_data,
        }
        return save_contact(contact=contact, **fields)


class ContactFilter(django_filters.FilterSet):
    phone = django_filters.CharFilter(field_name="phones__number", method=filter_phone)

    class Meta:
        model = Contact
        fields = ["phone"]


class ContactViewSet(viewsets.ModelViewSet):
    """`/api/contacts/`: list, create, read, update, delete."""

    serializer_class = ContactSerializer
    filterset_class = ContactFilter

    def get_queryset(self) -> QuerySet:
        return (
            Contact.objects.select_related("responsible")
            .prefetch_related(Prefetch("phones", queryset=ContactPhone.objects.order_by("id")))
            .order_by("name", "id")
        )
