"""The header search over HTTP: the box on every admin page for who may search, the results
page (links to each row and to the full lists), refusals as a message, never a 500."""
import re

import pytest
from django.contrib.auth.models import User
from django.test import Client

from contacts.models import Contact
from tests.calls.search.conftest import a_call, staff_with
from tests.html import tags

pytestmark = pytest.mark.django_db

PAGE = "/admin/search/"


def logged_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.parametrize("page", ["/admin/", "/admin/contacts/contact/", "/admin/calls/call/",
                                  "/admin/dashboard/"])
def test_every_admin_page_has_the_search_box(page: str, viewer: User) -> None:
    response = logged_in(viewer).get(page)

    (form,) = [attrs for attrs in tags(response, "form") if attrs.get("id") == "xvb-search"]
    assert form["action"] == PAGE and form["method"] == "get"
    assert any(attrs.get("name") == "q" for attrs in tags(response, "input"))


def test_no_search_box_for_who_may_see_neither_contacts_nor_calls() -> None:
    html = logged_in(staff_with("nobody")).get("/admin/").content.decode()

    assert 'id="xvb-search"' not in html


def test_no_search_box_on_the_login_page(client: Client) -> None:
    assert 'id="xvb-search"' not in client.get("/admin/login/").content.decode()


def test_results_link_to_each_contact_and_call(viewer: User, vasya: Contact) -> None:
    call = a_call("mine", contact=vasya)

    response = logged_in(viewer).get(PAGE, {"q": "8 (920) 111-96-13"})

    assert response.status_code == 200
    hrefs = [attrs.get("href") for attrs in tags(response, "a")]
    assert f"/admin/contacts/contact/{vasya.pk}/change/" in hrefs
    assert f"/admin/calls/call/{call.pk}/change/" in hrefs
    assert "/admin/contacts/contact/?q=8%20%28920%29%20111-96-13" in hrefs
    assert "/admin/calls/call/?q=8%20%28920%29%20111-96-13" in hrefs
    html = response.content.decode()
    assert 'value="8 (920) 111-96-13"' in html  # the box keeps the query
    assert re.search(r"<script(?![^>]*\bsrc=)", html) is None  # no inline script
    assert " style=" not in html


@pytest.mark.parametrize("query", ["", "   ", "Ва"])
def test_an_empty_or_short_query_gets_a_message(query: str, viewer: User) -> None:
    response = logged_in(viewer).get(PAGE, {"q": query})

    assert response.status_code == 200
    assert 'id="search-problem"' in response.content.decode()


def test_no_query_parameter_at_all_gets_a_message(viewer: User) -> None:
    response = logged_in(viewer).get(PAGE)

    assert response.status_code == 200
    assert 'id="search-problem"' in response.content.decode()


def test_calls_hidden_from_who_may_see_only_contacts(vasya: Contact) -> None:
    a_call("mine", contact=vasya)

    html = logged_in(staff_with("c", "view_contact")).get(PAGE, {"q": "Вася"}).content.decode()

    assert 'id="search-contacts"' in html and 'id="search-calls"' not in html


def test_the_page_is_forbidden_to_who_may_see_neither() -> None:
    assert logged_in(staff_with("nobody")).get(PAGE, {"q": "Вася"}).status_code == 403


def test_the_page_needs_a_login(client: Client) -> None:
    response = client.get(PAGE, {"q": "Вася"})

    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_the_full_call_list_finds_calls_by_the_contacts_name(viewer: User, vasya: Contact,
                                                             petya: Contact) -> None:
    a_call("mine", contact=vasya)
    a_call("petya's", phone="+79211234567", contact=petya)

    response = logged_in(viewer).get("/admin/calls/call/", {"q": "рога"})

    assert [call.callid for call in response.context["cl"].result_list] == ["mine"]


def test_in_russian(viewer: User, vasya: Contact) -> None:
    html = logged_in(viewer).get(PAGE, {"q": "Вася"}, HTTP_ACCEPT_LANGUAGE="ru").content.decode()

    assert "Номер, имя или компания" in html  # the box's placeholder
    assert "Все найденные контакты" in html
