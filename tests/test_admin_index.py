"""The admin's front page (xvbcrm.admin.CrmAdminSite.index): the desk first, then Calls and
Contacts, the technical apps last under one "System" heading, shown only to who may use them."""
import re

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client
from django.utils import timezone

from calls.models import Call, Callback
from contacts.models import Agent

pytestmark = pytest.mark.django_db

INDEX = "/admin/"
SYSTEM = ["auth", "authtoken", "axes", "django_tasks_database"]


def staff(username: str, *codenames: str, extension: str | None = None) -> User:
    user = User.objects.create_user(username, password="x", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    if extension:
        Agent.objects.create(extension=extension, name=username.title(), user=user)
    return user


def logged_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def app_modules(html: str) -> list[str]:
    """The app sections of a page, in order (Django's app_list.html: `app-<label> module`)."""
    return re.findall(r'<div class="app-([a-z_]+) module', html)


def test_a_superuser_sees_calls_and_contacts_first_and_system_last(admin_client: Client) -> None:
    html = admin_client.get(INDEX).content.decode()

    work, system = app_modules(html)[:2], app_modules(html)[2:]
    assert work == ["calls", "contacts"] and sorted(system) == SYSTEM  # by name within each
    heading = html.index('id="system-apps-title"')
    assert html.index('class="app-contacts module') < heading
    assert heading < min(html.index(f'class="app-{label} module') for label in SYSTEM)
    assert html.count(">System</h2>") == 1


def test_an_agent_without_system_permissions_sees_no_system_section() -> None:
    agent = staff("alice", "view_call", "view_contact", "view_callback", extension="100")

    html = logged_in(agent).get(INDEX).content.decode()

    assert app_modules(html) == ["calls", "contacts"]
    assert 'id="system-apps"' not in html and ">System</h2>" not in html


def test_who_may_manage_users_sees_only_that_under_system() -> None:
    user = staff("hr", "view_contact", "view_user")

    html = logged_in(user).get(INDEX).content.decode()

    assert app_modules(html) == ["contacts", "auth"]
    assert html.index('class="app-contacts module') < html.index('id="system-apps-title"')


def test_a_user_with_system_permissions_only_gets_no_empty_crm_message() -> None:
    html = logged_in(staff("admin2", "view_accessattempt")).get(INDEX).content.decode()

    assert app_modules(html) == ["axes"]
    assert "permission to view or edit anything" not in html


def test_the_sidebar_of_other_pages_has_the_system_apps_last(admin_client: Client) -> None:
    html = admin_client.get("/admin/contacts/contact/").content.decode()

    sidebar = app_modules(html[html.index('id="nav-sidebar"'):])
    assert sidebar[:2] == ["calls", "contacts"] and sorted(sidebar[2:]) == SYSTEM


def test_the_agents_desk_opens_the_page() -> None:
    user = staff("alice", "view_call", "view_contact", "view_callback", extension="100")
    now = timezone.now()
    Call.objects.create(callid="live", direction="in", phone="+79201119613",
                        routed_to=user.agent, started_at=now)
    missed = Call.objects.create(callid="missed", direction="in", phone="+79211234567",
                                 outcome="missed", routed_to=user.agent, started_at=now)
    Callback.objects.create(phone="+79211234567", agent=user.agent, missed_call=missed,
                            created_at=now)

    html = logged_in(user).get(INDEX).content.decode()

    desk = html.index('id="desk"')
    assert desk < html.index('id="dashboard-link"') < html.index('class="app-calls module')
    assert 'data-callid="live"' in html
    assert "+7 921 123-45-67" in html  # the open callback
    assert 'href="/admin/calls/callback/?state=open&amp;assignee=mine"' in html
    today = html[html.index('id="desk-today"'):]
    assert re.findall(r'<span class="xvb-front-figure">(\d+)</span>', today) == [
        "2", "0", "1", "2", "0",
    ]
    assert re.search(r"<script(?![^>]*\bsrc=)", html) is None  # no inline script
    assert " style=" not in html


def test_no_desk_for_who_has_no_agent_and_may_not_see_calls() -> None:
    html = logged_in(staff("clerk", "view_contact")).get(INDEX).content.decode()

    assert 'id="desk"' not in html and 'id="dashboard-link"' not in html


def test_in_russian(admin_client: Client) -> None:
    Agent.objects.create(extension="100", name="Админ",
                         user=User.objects.get(username="admin"))

    html = admin_client.get(INDEX, HTTP_ACCEPT_LANGUAGE="ru").content.decode()

    assert ">Система</h2>" in html
    assert "Мой рабочий стол" in html and "Мои открытые перезвоны" in html
