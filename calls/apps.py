"""The calls app: PBX webhooks, the call log and what builds on it (on top of contacts)."""
from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CallsConfig(AppConfig):
    name = "calls"
    verbose_name = _("Calls")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from calls import checks  # noqa: F401 - registers the system checks
