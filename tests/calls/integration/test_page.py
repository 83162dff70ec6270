"""The "PBX integration" admin page: who sees it, the WebHook URL, the settings (never their
secrets), and the page's own markup."""
import pytest
from django.contrib.auth.models import Permission, User
from django.urls import reverse

from calls.integration.services import public_address
from tests.calls.integration.helpers import PAGE, WRONG_CODE, page, webhook
from tests.captures import CONTACT
from tests.html import all_tags, tags

pytestmark = pytest.mark.django_db


# --- who sees it ------------------------------------------------------------------------------

def test_url_name():
    assert reverse("admin:pbx_integration") == PAGE


def test_anonymous_is_sent_to_the_login_page(client):
    response = client.get(PAGE)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_staff_without_the_journal_permission_gets_403(client):
    staff = User.objects.create_user("staff", password="x", is_staff=True)
    client.force_login(staff)

    assert client.get(PAGE).status_code == 403


def test_staff_with_the_journal_permission_sees_it(client):
    staff = User.objects.create_user("staff", password="x", is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="view_pbxrequest"))
    client.force_login(staff)

    assert client.get(PAGE).status_code == 200


def test_listed_in_the_admin_index_for_a_superuser(admin_client):
    response = admin_client.get(reverse("admin:index"))

    assert PAGE in [attrs.get("href") for attrs in tags(response, "a")]


def test_renders_in_russian_with_the_admin_chrome(admin_client):
    response = admin_client.get(PAGE, HTTP_ACCEPT_LANGUAGE="ru")

    content = response.content.decode()
    assert response.status_code == 200
    assert 'class="breadcrumbs"' in content
    assert 'id="nav-sidebar"' in content
    assert 'id="user-tools"' in content
    assert ">Начало</a>" in content  # Django's own "Home"


# --- the WebHook URL --------------------------------------------------------------------------

def test_webhook_url_is_built_from_the_request_host(admin_client, settings):
    settings.ALLOWED_HOSTS = ["crm.example.com"]

    response = page(admin_client, HTTP_HOST="crm.example.com")

    inputs = [attrs for attrs in tags(response, "input") if attrs.get("id") == "webhook-url"]
    assert [attrs["value"] for attrs in inputs] == ["http://crm.example.com/crm-api"]
    assert "readonly" in inputs[0]
    assert "<code>http://crm.example.com/crm-api</code>" in response.content.decode()


def test_webhook_url_follows_https(admin_client, settings):
    settings.ALLOWED_HOSTS = ["crm.example.com"]

    response = page(admin_client, HTTP_HOST="crm.example.com", secure=True)

    assert response.context["status"].webhook_url == "https://crm.example.com/crm-api"


def test_the_shown_webhook_url_is_the_one_that_works(admin_client, client):
    url = page(admin_client).context["status"].webhook_url
    path = url.removeprefix("http://testserver")

    assert path == "/crm-api"
    assert webhook(client, CONTACT) == 200


def test_says_the_access_code_must_match_on_both_sides(admin_client):
    content = page(admin_client).content.decode()

    assert "The access code must be the same on both sides" in content


# --- settings, never their secrets ------------------------------------------------------------

SECRET_CODE = "ac-5e3d9f1b"
SECRET_TOKEN = "tok-77aa31c0"  # noqa: S105 - a test value
SECRET_PASSWORD = "pw-0c4b2e"  # noqa: S105 - a test value


@pytest.fixture
def unthrottled(settings) -> None:  # noqa: ANN001
    """For tests sending more wrong codes from one address than the throttle lets through."""
    settings.PBX_THROTTLE_FAILURES = 0


@pytest.fixture
def pbx_secrets(settings) -> None:  # noqa: ANN001
    settings.PBX_ACCESS_CODE = SECRET_CODE
    settings.PBX_TOKEN = SECRET_TOKEN
    settings.PBX_URL = f"https://crm:{SECRET_PASSWORD}@vpbx.example.com:8443/api/?token={SECRET_TOKEN}"


def test_secrets_never_appear_in_the_page(admin_client, client, pbx_secrets):
    assert webhook(client, CONTACT.replace(b"10019", SECRET_CODE.encode())) == 200
    assert webhook(client, WRONG_CODE) == 403

    content = page(admin_client).content.decode()

    assert SECRET_CODE not in content
    assert SECRET_TOKEN not in content
    assert SECRET_PASSWORD not in content


def test_configured_settings_have_yes_icons_and_the_bare_pbx_address(admin_client, pbx_secrets):
    response = page(admin_client)

    icons = [attrs["src"] for attrs in tags(response, "img") if "/admin/img/icon-" in attrs["src"]]
    assert [src.rsplit("/", 1)[1] for src in icons] == ["icon-yes.svg"] * 3
    assert "<code>https://vpbx.example.com:8443/api/</code>" in response.content.decode()


def test_missing_settings_have_no_icons(admin_client, settings):
    settings.PBX_ACCESS_CODE = ""
    settings.PBX_URL = ""
    settings.PBX_TOKEN = ""

    response = page(admin_client)

    icons = [attrs["src"] for attrs in tags(response, "img") if "/admin/img/icon-" in attrs["src"]]
    assert [src.rsplit("/", 1)[1] for src in icons] == ["icon-no.svg"] * 3


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://vpbx.example.com/api", "https://vpbx.example.com/api"),
        ("https://u:p@vpbx.example.com:8443/api/?token=t#frag", "https://vpbx.example.com:8443/api/"),
        ("http://[::1]:8080/", "http://[::1]:8080/"),
        ("vpbx.example.com/api", ""),
        ("u:p@vpbx.example.com", ""),
        ("https://[::1/", ""),
    ],
)
def test_public_address(url, shown, settings):
    settings.PBX_TOKEN = ""

    assert public_address(url) == shown


def test_public_address_blanks_a_token_in_the_path(settings):
    settings.PBX_TOKEN = "tok-123"

    assert public_address("https://vpbx.example.com/tok-123/api") == (
        "https://vpbx.example.com/[redacted]/api"
    )


# --- the page itself --------------------------------------------------------------------------

def test_refreshes_itself_without_inline_script(admin_client):
    response = page(admin_client)

    refresh = [attrs for attrs in tags(response, "meta") if attrs.get("http-equiv") == "refresh"]
    assert [attrs["content"] for attrs in refresh] == ["30"]
    assert all(attrs.get("src") for attrs in tags(response, "script"))
    assert not [attrs for _, attrs in all_tags(response) if "style" in attrs]
    assert not [attrs for _, attrs in all_tags(response) if any(n.startswith("on") for n in attrs)]
