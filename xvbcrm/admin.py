"""The admin site: Django's own, plus the CRM's pages that are not a model's list, and what
the apps' model admins share (read-only rows, a capped count, search by phone)."""
from collections.abc import Callable
from dataclasses import dataclass

from django.apps import apps
from django.contrib import admin
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.functional import Promise, cached_property
from django.utils.module_loading import import_string
from django.utils.translation import gettext_lazy as _

from contacts.phones import format_phone, normalize_phone


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
        view="calls.integration.views.pbx_integration",
        permission="calls.view_pbxrequest",
    ),
    ExtraPage(
        app_label="calls",
        route="dashboard/",
        name="dashboard",
        title=_("Calls dashboard"),
        view="calls.dashboard.views.dashboard",
        permission="calls.view_call",
    ),
]

SEARCH_VIEW = "calls.search.views.results"
# The front page opens on the work: the desk (a function of the user, dotted path imported when
# the index is shown), then these apps in this order, other apps, and the technical ones last
# under one "System" heading.
FRONT_DESK = "calls.desk.summary.desk_summary"
WORK_APPS = ("calls", "contacts")
SYSTEM_APPS = ("auth", "authtoken", "axes", "django_tasks_database")


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
            self.admin_view(import_string("calls.dashboard.views.export_calls")),
            name="calls_call_export",
        )
        # The header's search box (templates/admin/base_site.html) leads here.
        search = path(
            "search/", self.admin_view(import_string(SEARCH_VIEW)), name="search"
        )
        return [*extra, export, search, *super().get_urls()]

    def get_app_list(self, request: HttpRequest, app_label: str | None = None) -> list[dict]:
        """The apps the user may use (Django's list), work first and the System apps last."""
        apps = super().get_app_list(request, app_label)
        for page in EXTRA_PAGES:
            if not request.user.has_perm(page.permission):
                continue
            for app in apps:
                if app["app_label"] == page.app_label:
                    app["models"].insert(0, _page_entry(page))
        return sorted(apps, key=_app_order)

    def index(self, request: HttpRequest, extra_context: dict | None = None) -> TemplateResponse:
        """The front page: the user's desk, the CRM's apps, then the System apps apart (none of
        them, and no heading, for a user who may use none)."""
        response = super().index(request, extra_context)
        apps = response.context_data["app_list"]
        response.context_data.update(
            desk=import_string(FRONT_DESK)(user=request.user),
            work_apps=[app for app in apps if app["app_label"] not in SYSTEM_APPS],
            system_apps=[app for app in apps if app["app_label"] in SYSTEM_APPS],
        )
        return response


def page_context(request: HttpRequest, *, app_label: str, title: str | Promise) -> dict:
    """What an extra page's template needs around its own content: the admin's chrome
    (header, sidebar) and the breadcrumbs Home › app › title."""
    return {
        **admin.site.each_context(request),
        "title": title,
        "app_label": app_label,
        "app_name": apps.get_app_config(app_label).verbose_name,
    }


def _app_order(app: dict) -> tuple[int, int]:
    """WORK_APPS first in their order, then the others, then SYSTEM_APPS (a stable sort keeps
    Django's alphabetical order within each group)."""
    label = app["app_label"]
    if label in WORK_APPS:
        return (0, WORK_APPS.index(label))
    return (2 if label in SYSTEM_APPS else 1, 0)


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


# --- shared by the model admins of calls and contacts ------------------------------------


class ReadOnlyAdminMixin:
    """Rows written by the PBX only: staff may look, not add, change or delete."""

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class CappedCountPaginator(Paginator):
    """Counts at most COUNT_CAP rows, so a page of a million-row list costs no full COUNT(*).

    A longer list shows COUNT_CAP + 1 as its size and pages up to there; a filter or a search
    narrows it down. The count ignores the ordering, which does not change it.
    """

    COUNT_CAP = 100_000

    @cached_property
    def count(self) -> int:
        return self.object_list.order_by()[: self.COUNT_CAP + 1].count()


def search_by_phone(queryset: QuerySet, term: str, field: str) -> QuerySet | None:
    """Rows whose phone equals `term` read as a phone number in any format, else None."""
    e164 = normalize_phone(term)
    return queryset.filter(**{field: e164}) if e164 else None


class PhoneSearchMixin:
    """A list searched by a phone number typed in any format (its `phone` field, E.164), shown
    in the readable form."""

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet, search_term: str
    ) -> tuple[QuerySet, bool]:
        found = search_by_phone(queryset, search_term, "phone")
        if found is not None:
            return found, False
        return super().get_search_results(request, queryset, search_term)

    @admin.display(description=_("client phone"), ordering="phone")
    def phone_display(self, obj: object) -> str:
        return format_phone(getattr(obj, "phone", ""))
