"""REST API routes under /api/."""
from django.urls import path
from rest_framework.routers import DefaultRouter

from calls.api import CallViewSet
from calls.clicktocall.api import ClickToCallView
from contacts.api import AgentViewSet, ContactViewSet

router = DefaultRouter()
router.register("calls", CallViewSet, basename="call")
router.register("contacts", ContactViewSet, basename="contact")
router.register("agents", AgentViewSet, basename="agent")

urlpatterns = [
    path("click-to-call/", ClickToCallView.as_view(), name="click-to-call"),
    *router.urls,
]
