"""REST API for contacts (phones in any format in, E.164 out) and agents."""
import re

import django_filters
from django.db.models import Manager, Prefetch, QuerySet
from rest_framework import serializers, status, viewsets
from rest_framework.response import Response

from contacts.agents import ensure_agent
from contacts.models import Agent, Contact, ContactPhone
from contacts.phones import normalize_phone
from contacts.services import AssignmentDenied, check_assignment, save_contact

EXTENSION = re.compile(r"[0-9]{1,32}")


def filter_phone(queryset: QuerySet, field_name: str, value: str) -> QuerySet:
    """Match a phone typed in any format against the stored (E.164) numbers."""
    return queryset.filter(**{field_name: normalize_phone(value) or value.strip()})


class PhoneField(serializers.CharField):
    """A phone number: any format in, E.164 out; a non-number is a validation error."""

    def to_internal_value(self, data: object) -> str:
        raw = super().to_internal_value(data)
        e164 = normalize_phone(raw)
        if e164 is None:
            raise serializers.ValidationError(f"{raw!r} is not a phone number.")
        return e164


class PhonesField(serializers.ListField):
    """A contact's numbers: a list in any format in, the stored E.164 numbers out."""

    child = PhoneField()

    def to_representation(self, phones: Manager) -> list[str]:
        return [phone.number for phone in phones.all()]


class ResponsibleField(serializers.Field):
    """An agent by extension; an unknown extension is created on save, as in PBX traffic."""

    def to_representation(self, agent: Agent) -> str:
        return agent.extension

    def to_internal_value(self, data: object) -> str:
        """The extension, "" for none (as an empty form field sends)."""
        # Validation only: the agent is created on save, so a refused request creates nothing.
        extension = str(data).strip()
        if extension and not EXTENSION.fullmatch(extension):
            raise serializers.ValidationError("An extension is 1-32 digits (0-9).")
        return extension


def _for_save(validated_data: dict) -> dict:
    """Validated data as `save_contact` takes it: the responsible extension made an Agent."""
    if "responsible" not in validated_data:
        return validated_data
    extension = validated_data["responsible"]
    return {**validated_data, "responsible": ensure_agent(extension) if extension else None}


class ContactSerializer(serializers.ModelSerializer):
    phones = PhonesField(allow_empty=True, required=False)
    responsible = ResponsibleField(required=False, allow_null=True)

    class Meta:
        model = Contact
        fields = ["id", "name", "company", "email", "notes", "phones", "responsible"]

    def _check_assignment(self, contact: Contact | None, validated_data: dict) -> None:
        """Before any agent is made: a changed responsible needs "Can assign contacts"."""
        if contact is None or "responsible" in validated_data:
            check_assignment(user=self.context["request"].user, contact=contact,
                             extension=validated_data.get("responsible") or "")

    def create(self, validated_data: dict) -> Contact:
        self._check_assignment(None, validated_data)
        return save_contact(**{"phones": [], **_for_save(validated_data)})

    def update(self, contact: Contact, validated_data: dict) -> Contact:
        self._check_assignment(contact, validated_data)
        fields = {
            "name": contact.name,
            "company": contact.company,
            "email": contact.email,
            "responsible": contact.responsible,
            "phones": [phone.number for phone in contact.phones.all()],
            **_for_save(validated_data),
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

    def handle_exception(self, exc: Exception) -> Response:
        if isinstance(exc, AssignmentDenied):
            return Response({"error": str(exc)}, status=status.HTTP_403_FORBIDDEN)
        return super().handle_exception(exc)

    def get_queryset(self) -> QuerySet:
        return (
            Contact.objects.select_related("responsible")
            .prefetch_related(Prefetch("phones", queryset=ContactPhone.objects.order_by("id")))
            .order_by("name", "id")
        )


class AgentSerializer(serializers.ModelSerializer):
    ext = serializers.CharField(source="extension", read_only=True)

    class Meta:
        model = Agent
        fields = ["ext", "name", "is_active"]


class AgentViewSet(viewsets.ReadOnlyModelViewSet):
    """`GET /api/agents/`: everyone the PBX has shown us, plus those added by hand."""

    queryset = Agent.objects.order_by("extension")
    serializer_class = AgentSerializer
    lookup_field = "extension"
    lookup_value_regex = r"[\x21-\x2e\x30-\x7e]+"  # no control characters (PostgreSQL)
