"""The admin with the CRM's own site (extra pages such as "PBX integration")."""
from django.contrib import admin
from django.contrib.admin.apps import AdminConfig


class CrmAdminConfig(AdminConfig):
    default_site = "xvbcrm.admin.CrmAdminSite"

    def ready(self) -> None:
        super().ready()  # every app's admin module is registered by now
        from xvbcrm import checks  # noqa: F401 - registers the deploy checks
        from xvbcrm.admin_actions import declare_library_actions  # registers its check

        declare_library_actions(admin.site)
