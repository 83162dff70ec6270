"""The admin site: Django's own, plus the CRM's pages that are not a model's list."""
from collections.abc import Callable
from dataclasses import dataclass

from django.apps import apps
from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, path, reverse
from django.utils.functional import Promise
from django.utils.module_loading import import_string
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class ExtraPage:
    """A page of the admin shown in an app's section of the index, like a model."""

    app_label: str
    route: str  # under /admin/
    name: str  # URL name in the `admin` namespace
    title: str | Promise
    view: str  # dotted path, imported when the URLs are built
    permission: str  # needed to see the link and the page

    def resolve_view(self) -> Callable[..., HttpResponse]:
        return import_string(self.view)


EXTRA_PAGES = [
    ExtraPage(
        app_label="calls",
        route="pbx-integration/",
        name="pbx_integration",
        title=_("PBX integration"),
        view="calls.admin_views.pbx_integration",
        permission="calls.view_pbxrequest",
    ),
    ExtraPage(
        app_label="calls",
        route="dashboard/",
        name="dashboard",
        title=_("Calls dashboard"),
        view="calls.dashboard_views.dashboard",
        permission="calls.view_call",
    ),
]


class CrmAdminSite(admin.AdminSite):
    site_header = _("xvbcrm")
    site_title = _("xvbcrm")
    index_title = _("Calls and contacts")

    def get_urls(self) -> list[URLPattern]:
        extra = [
            path(page.route, self.admin_view(page.resolve_view()), name=page.name)
            for page in EXTRA_PAGES
        ]
        # Before the model URLs, where `calls/call/<path>/` would take it for an object id.
        export = path(
            "calls/call/export/",
            self.admin_view(import_string("calls.dashboard_views.export_calls")),
            name="calls_call_export",
        )
        return [*extra, export, *super().get_urls()]

    def get_app_list(self, request: HttpRequest, app_label: str | None = None) -> list[dict]:
        apps = super().get_app_list(request, app_label)
        for page in EXTRA_PAGES:
            if not request.user.has_perm(page.permission):
                continue
            for app in apps:
                if app["app_label"] == page.app_label:
                    app["models"].insert(0, _page_entry(page))
        return apps


def page_context(request: HttpRequest, *, app_label: str, title: str | Promise) -> dict:
    """What an extra page's template needs around its own content: the admin's chrome
    (header, sidebar) and the breadcrumbs Home › app › title."""
    return {
        **admin.site.each_context(request),
        "title": title,
        "app_label": app_label,
        "app_name": apps.get_app_config(app_label).verbose_name,
    }


def _page_entry(page: ExtraPage) -> dict:
    """The page as the index template lists a model: a link with no "add"."""
    return {
        "name": page.title,
        "object_name": page.name,
        "perms": {"view": True},
        "admin_url": reverse(f"admin:{page.name}"),
        "add_url": None,
        "view_only": True,
    }
