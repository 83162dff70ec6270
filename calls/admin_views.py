"""Admin pages of the calls app that are not a model's list (see EXTRA_PAGES in xvbcrm.admin)."""
from django.apps import apps
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from calls.integration import integration_status


def webhook_url(request: HttpRequest) -> str:
    """The URL to paste into the PBX, on the host (and scheme) this page was requested with."""
    # The route accepts `crm-api` with or without a slash; the PBX sends none (as captured).
    return request.build_absolute_uri(reverse("pbx-webhook").removesuffix("/"))


def pbx_integration(request: HttpRequest) -> TemplateResponse:
    """`/admin/pbx-integration/`: the WebHook URL, the PBX settings and the journal's last day."""
    if not request.user.has_perm("calls.view_pbxrequest"):
        raise PermissionDenied
    context = {
        **admin.site.each_context(request),
        "title": _("PBX integration"),
        "app_label": "calls",
        "app_name": apps.get_app_config("calls").verbose_name,
        "status": integration_status(webhook_url=webhook_url(request)),
    }
    return TemplateResponse(request, "admin/calls/pbx_integration.html", context)
