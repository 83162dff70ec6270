"""REST API routes under /api/."""
from rest_framework.routers import DefaultRouter

from calls.api import AgentViewSet, CallViewSet
from contacts.api import ContactViewSet

router = DefaultRouter()
router.register("calls", CallViewSet, basename="call")
router.register("contacts", ContactViewSet, basename="contact")
router.register("agents", AgentViewSet, basename="agent")

urlpatterns = router.urls
