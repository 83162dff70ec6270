"""The contact admin: phones typed in any format are stored in E.164, non-numbers refused."""
import pytest

from contacts.models import Agent, Contact, ContactPhone
from contacts.services import save_contact
from tests.html import all_tags

pytestmark = pytest.mark.django_db

CONTACTS = "/admin/contacts/contact/"


def contact_form(*numbers: str, name: str = "Вася", initial: int = 0, **fields: str) -> dict:
    """POST data of the contact form with one inline row per number."""
    data = {
        "name": name, "company": "Рога и Копыта", "email": "", "responsible": "", "notes": "",
        "phones-TOTAL_FORMS": str(len(numbers)),
        "phones-INITIAL_FORMS": str(initial),
        "phones-MIN_NUM_FORMS": "0",
        "phones-MAX_NUM_FORMS": "1000",
        **fields,
    }
    for index, number in enumerate(numbers):
        data[f"phones-{index}-number"] = number
    return data


def shown(response) -> list[str]:  # noqa: ANN001
    return [contact.name for contact in response.context["cl"].result_list]


def test_add_page_renders(admin_client):
    response = admin_client.get(f"{CONTACTS}add/")

    assert response.status_code == 200
    assert 'name="phones-0-number"' in response.content.decode()


def test_add_accepts_a_typed_number_and_stores_e164(admin_client):
    response = admin_client.post(f"{CONTACTS}add/", contact_form("8 (920) 111-96-13"))

    assert response.status_code == 302
    contact = Contact.objects.get()
    assert (contact.name, contact.company) == ("Вася", "Рога и Копыта")
    assert list(contact.phones.values_list("number", flat=True)) == ["+79201119613"]


def test_add_refuses_a_non_number_with_a_form_error(admin_client):
    response = admin_client.post(f"{CONTACTS}add/", contact_form("hello"))

    assert response.status_code == 200
    assert "errorlist" in response.content.decode()
    errors = response.context["inline_admin_formsets"][0].formset.errors
    assert list(errors[0]) == ["number"]
    assert "hello" in errors[0]["number"][0]
    assert not Contact.objects.exists()
    assert not ContactPhone.objects.exists()


def test_one_number_in_two_formats_is_a_form_error(admin_client):
    response = admin_client.post(
        f"{CONTACTS}add/", contact_form("8 (920) 111-96-13", "+7 920 111 96 13")
    )

    assert response.status_code == 200
    assert "errorlist" in response.content.decode()
    assert not Contact.objects.exists()


def test_adding_a_number_the_contact_has_in_another_format_is_a_form_error(admin_client):
    contact = save_contact(name="Вася", phones=["+79201119613"])
    phone = contact.phones.get()
    data = contact_form("+79201119613", "8 (920) 111-96-13", initial=1)
    data.update({"phones-0-id": str(phone.pk), "phones-0-contact": str(contact.pk)})

    response = admin_client.post(f"{CONTACTS}{contact.pk}/change/", data)

    assert response.status_code == 200
    assert "errorlist" in response.content.decode()
    assert contact.phones.count() == 1


def test_change_retypes_a_number(admin_client):
    contact = save_contact(name="Вася", phones=["+79201119613"])
    phone = contact.phones.get()
    data = contact_form("8-903-555-01-01", initial=1)
    data.update({"phones-0-id": str(phone.pk), "phones-0-contact": str(contact.pk)})

    response = admin_client.post(f"{CONTACTS}{contact.pk}/change/", data)

    assert response.status_code == 302
    assert list(contact.phones.values_list("number", flat=True)) == ["+79035550101"]


@pytest.fixture
def two_contacts() -> None:
    save_contact(name="Вася", company="Рога и Копыта", phones=["+79201119613"])
    save_contact(name="Петя", company="ООО Ромашка", phones=["+79035550101", "+74951234567"])


@pytest.mark.parametrize("typed", ["8 (920) 111-96-13", "+7 920 111 96 13", "79201119613"])
def test_search_by_phone_in_any_format(admin_client, two_contacts, typed):
    response = admin_client.get(CONTACTS, {"q": typed})

    assert response.status_code == 200
    assert shown(response) == ["Вася"]


def test_search_by_a_second_number(admin_client, two_contacts):
    assert shown(admin_client.get(CONTACTS, {"q": "8 495 123-45-67"})) == ["Петя"]


def test_search_by_name(admin_client, two_contacts):
    assert shown(admin_client.get(CONTACTS, {"q": "Пет"})) == ["Петя"]


def test_search_by_company(admin_client, two_contacts):
    assert shown(admin_client.get(CONTACTS, {"q": "Рога"})) == ["Вася"]


def test_changelist_shows_readable_numbers(admin_client, two_contacts):
    content = admin_client.get(CONTACTS).content.decode()

    assert "+7 903 555-01-01, +7 495 123-45-67" in content


def test_changelist_queries_are_bounded(admin_client, django_assert_max_num_queries):
    for number in range(50):
        agent = Agent.objects.create(extension=str(200 + number))
        save_contact(name=f"Client {number:02}", responsible=agent,
                     phones=[f"+7920111{number:04}", f"+7495111{number:04}"])

    with django_assert_max_num_queries(10):
        response = admin_client.get(CONTACTS)

    assert len(shown(response)) == 50


def test_change_page_queries_are_bounded(admin_client, django_assert_max_num_queries):
    agent = Agent.objects.create(extension="100")
    contact = save_contact(name="Вася", responsible=agent,
                           phones=[f"+7920111{number:04}" for number in range(20)])

    # 10, and 3 of the contact card (calls/timeline): its calls, callbacks and open callbacks.
    with django_assert_max_num_queries(13):
        response = admin_client.get(f"{CONTACTS}{contact.pk}/change/")

    assert response.status_code == 200


# --- "Create contact" from the call pop-up, and leads -------------------------------------

def test_create_contact_is_prefilled_with_the_number(admin_client):
    page = admin_client.get("/admin/contacts/contact/add/", {"phone": "+79201119613"})

    inputs = {i["name"]: i.get("value") for i in _inputs(page)}
    assert inputs["phones-0-number"] == "+79201119613"


def test_the_prefilled_contact_saves_with_its_number(admin_client):
    page = admin_client.get("/admin/contacts/contact/add/", {"phone": "79201119613"})
    data = {i["name"]: i.get("value", "") for i in _inputs(page) if i.get("type") != "submit"}
    data.update({"name": "Новый клиент", "_save": "Save"})

    response = admin_client.post("/admin/contacts/contact/add/?phone=79201119613", data)

    assert response.status_code == 302
    contact = Contact.objects.get(name="Новый клиент")
    assert list(contact.phones.values_list("number", flat=True)) == ["+79201119613"]


def test_a_bad_prefill_is_ignored(admin_client):
    page = admin_client.get("/admin/contacts/contact/add/", {"phone": "not a phone"})

    inputs = {i["name"]: i.get("value") for i in _inputs(page)}
    assert not inputs.get("phones-0-number")


def test_leads_are_filtered_and_completed(admin_client):
    lead = Contact.objects.create(name="Lead +7 920 111-96-13", is_lead=True,
                                  lead_number="+79201119613")
    Contact.objects.create(name="Client")

    listed = admin_client.get("/admin/contacts/contact/", {"is_lead__exact": "1"})
    assert [c.pk for c in listed.context["cl"].result_list] == [lead.pk]

    admin_client.post("/admin/contacts/contact/",
                      {"action": "complete_leads", "_selected_action": [lead.pk]})
    lead.refresh_from_db()
    assert lead.is_lead is False
    assert lead.lead_number == "+79201119613"  # still one lead per number, ever


def _inputs(page) -> list[dict[str, str]]:  # noqa: ANN001
    """The page's named form fields (input, textarea, select) with their attributes."""
    return [attrs for tag, attrs in all_tags(page)
            if tag in ("input", "textarea", "select") and attrs.get("name")]


def test_contact_list_counts_no_further_than_the_cap(admin_client, monkeypatch):
    from xvbcrm.admin import CappedCountPaginator

    monkeypatch.setattr(CappedCountPaginator, "COUNT_CAP", 3)
    for n in range(5):
        Contact.objects.create(name=f"Клиент {n}")
    response = admin_client.get(CONTACTS)
    assert response.context["cl"].result_count == 4
    assert shown(response) == [f"Клиент {n}" for n in range(5)]


def test_contact_list_filter_offers_an_agent_responsible_for_nobody(admin_client):
    agent = Agent.objects.create(extension="177", name="Новичок")
    response = admin_client.get(CONTACTS)
    assert f"responsible__id__exact={agent.pk}" in response.content.decode()


def test_links_to_an_agents_page_in_the_calls_app_lead_to_its_page_in_contacts(admin_client):
    agent = Agent.objects.create(extension="100")
    response = admin_client.get(f"/admin/calls/agent/{agent.pk}/change/?_popup=1")
    assert response.status_code == 301
    assert response["Location"] == f"/admin/contacts/agent/{agent.pk}/change/?_popup=1"
    assert admin_client.get(response["Location"]).status_code == 200
