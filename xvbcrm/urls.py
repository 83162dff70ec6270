"""URLs: the admin, the PBX webhook and the REST API."""
from django.contrib import admin
from django.urls import include, path, re_path
from django.views.generic import RedirectView

from calls.views import pbx_webhook

urlpatterns = [
    # The vendor's capture posts to `/crm-api`, without a trailing slash; accept both.
    re_path(r"^crm-api/?$", pbx_webhook, name="pbx-webhook"),
    path("api/", include("xvbcrm.api_urls")),
    path("admin/", admin.site.urls),
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
]
