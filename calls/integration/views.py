"""The "PBX integration" page of the admin (listed through EXTRA_PAGES in xvbcrm.admin)."""
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from calls.integration.services import integration_status
from xvbcrm.admin import page_context


def webhook_url(request: HttpRequest) -> str:
    """The URL to paste into the PBX, on the host (and scheme) this page was requested with."""
    # The route accepts `crm-api` with or without a slash; the PBX sends none (as captured).
    return request.build_absolute_uri(reverse("pbx-webhook").removesuffix("/"))


def pbx_integration(request: HttpRequest) -> TemplateResponse:
    """`/admin/pbx-integration/`: the WebHook URL, the PBX settings and the journal's last day."""
    if not request.user.has_perm("calls.view_pbxrequest"):
        raise PermissionDenied
    context = {
        **page_context(request, app_label="calls", title=_("PBX integration")),
        "status": integration_status(webhook_url=webhook_url(request)),
    }
    return TemplateResponse(request, "calls/integration/pbx_integration.html", context)
