"""The admin with the CRM's own site (extra pages such as "PBX integration")."""
from django.contrib.admin.apps import AdminConfig


class CrmAdminConfig(AdminConfig):
    default_site = "xvbcrm.admin.CrmAdminSite"
