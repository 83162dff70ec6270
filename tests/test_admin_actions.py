"""Every admin action declares the permission it needs: who may only view a list runs none
that writes (xvbcrm.admin_actions and its check, xvbcrm.E003)."""
from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.contrib import admin
from django.contrib.auth.models import Permission, User
from django.test import Client, RequestFactory
from django.utils import timezone

from calls.models import Call, Callback, PbxRequest
from contacts.models import Contact
from tests.captures import INCOMING
from xvbcrm.admin_actions import admin_actions_check, undeclared_actions

pytestmark = pytest.mark.django_db


def test_every_registered_action_declares_a_permission():
    assert undeclared_actions(admin.site) == []
    assert admin_actions_check() == []


def test_an_undeclared_action_fails_the_check():
    site = admin.AdminSite(name="scratch")

    class Careless(admin.ModelAdmin):
        actions = ["wipe"]

        @admin.action(description="wipe")
        def wipe(self, request: object, queryset: object) -> None:
            queryset.delete()

    site.register(Contact, Careless)

    assert undeclared_actions(site) == ["contacts.Contact.wipe"]


def viewer_of(model: type) -> User:
    """A staff user who may only view `model`'s list."""
    user = User.objects.create_user(f"viewer-{model._meta.model_name}", is_staff=True)
    user.user_permissions.add(Permission.objects.get(
        content_type__app_label=model._meta.app_label,
        codename=f"view_{model._meta.model_name}",
    ))
    return User.objects.get(pk=user.pk)


@pytest.mark.parametrize(
    "model", list(admin.site._registry), ids=lambda model: model._meta.label
)
def test_who_may_only_view_a_list_is_offered_no_action_that_writes(model):
    request = RequestFactory().get("/admin/")
    request.user = viewer_of(model)

    offered = admin.site._registry[model].get_actions(request)

    writing = [name for name, (func, *_rest) in offered.items()
               if set(func.allowed_permissions) != {"view"}]
    assert writing == []


def post_action(user: User, url: str, action: str, *pks: int) -> None:
    client = Client()
    client.force_login(user)
    response = client.post(url, {"action": action, "_selected_action": list(pks)})
    assert response.status_code in (200, 302)


@pytest.fixture
def failed_request() -> PbxRequest:
    return PbxRequest.objects.create(
        received_at=timezone.now(), method="POST", cmd="event", event="INCOMING",
        body=INCOMING.decode(), outcome=PbxRequest.Handling.FAILED, error="database on fire",
    )


def test_a_journal_viewer_cannot_reprocess(failed_request):
    post_action(viewer_of(PbxRequest), "/admin/calls/pbxrequest/", "reprocess_failed",
                failed_request.pk)

    failed_request.refresh_from_db()
    assert failed_request.outcome == PbxRequest.Handling.FAILED
    assert not Call.objects.exists()


def test_who_may_change_the_journal_reprocesses(failed_request):
    user = viewer_of(PbxRequest)
    user.user_permissions.add(Permission.objects.get(codename="change_pbxrequest"))

    post_action(User.objects.get(pk=user.pk), "/admin/calls/pbxrequest/", "reprocess_failed",
                failed_request.pk)

    failed_request.refresh_from_db()
    assert failed_request.outcome == PbxRequest.Handling.ACCEPTED


def test_a_callback_viewer_cannot_close_callbacks():
    missed = Call.objects.create(callid="m1", started_at=timezone.now(), outcome="missed")
    task = Callback.objects.create(phone="+79201119613", missed_call=missed,
                                   created_at=timezone.now())

    post_action(viewer_of(Callback), "/admin/calls/callback/", "close_by_hand", task.pk)

    task.refresh_from_db()
    assert task.is_open


def test_a_contact_viewer_cannot_complete_leads():
    lead = Contact.objects.create(name="Lead", is_lead=True)

    post_action(viewer_of(Contact), "/admin/contacts/contact/", "complete_leads", lead.pk)

    lead.refresh_from_db()
    assert lead.is_lead


def expired_attempt() -> AccessAttempt:
    attempt = AccessAttempt.objects.create(
        ip_address="192.0.2.1", username="x", failures_since_start=1, get_data="", post_data="",
        http_accept="", path_info="/admin/login/", user_agent="test",
    )
    AccessAttempt.objects.filter(pk=attempt.pk).update(
        attempt_time=timezone.now() - timedelta(days=30))
    return attempt


@pytest.mark.parametrize("may_delete", [False, True])
def test_cleaning_up_login_attempts_needs_their_delete_right(may_delete):
    user = viewer_of(AccessAttempt)
    if may_delete:
        user.user_permissions.add(Permission.objects.get(codename="delete_accessattempt"))
    client = Client()
    client.force_login(User.objects.get(pk=user.pk))  # a login cleans up expired ones itself
    attempt = expired_attempt()

    client.post("/admin/axes/accessattempt/",
                {"action": "cleanup_expired_attempts", "_selected_action": [attempt.pk]})

    assert AccessAttempt.objects.filter(pk=attempt.pk).exists() != may_delete
