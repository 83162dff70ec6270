"""URLs: the admin, the PBX webhook, the REST API and the agent's desk."""
from django.contrib import admin
from django.urls import include, path, re_path
from django.views.generic import RedirectView

from calls.desk import views as desk_views
from calls.recordings import views as recording_views
from calls.views import pbx_webhook

urlpatterns = [
    # The vendor's capture posts to `/crm-api`, without a trailing slash; accept both.
    re_path(r"^crm-api/?$", pbx_webhook, name="pbx-webhook"),
    path("api/", include("xvbcrm.api_urls")),
    path("desk/poll/", desk_views.poll, name="desk-poll"),
    path("desk/away/", desk_views.toggle_away, name="desk-away"),
    path("recordings/<int:call_id>/", recording_views.play, name="recording-play"),
    # Agents moved from the calls app to contacts: links to their old pages lead to the new.
    re_path(
        r"^admin/calls/agent/(?P<rest>.*)$",
        RedirectView.as_view(url="/admin/contacts/agent/%(rest)s", permanent=True,
                             query_string=True),
    ),
    path("admin/", admin.site.urls),
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
]

# 503 instead of 500 while the database cannot be reached (xvbcrm/health.py).
handler500 = "xvbcrm.health.server_error"
