"""The contacts app: clients, their phone numbers, and the agents answering them."""
from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ContactsConfig(AppConfig):
    name = "contacts"
    verbose_name = _("Contacts")
    default_auto_field = "django.db.models.BigAutoField"
