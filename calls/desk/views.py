"""The agent's desk over HTTP: the pop-up poll (JSON) and the away/back switch."""
from collections.abc import Callable
from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.template.loader import render_to_string
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from calls.desk.services import live_calls, set_away
from contacts.models import Agent
from xvbcrm.redirects import back_to


def _user_agent(request: HttpRequest) -> Agent | None:
    try:
        return request.user.agent
    except Agent.DoesNotExist:
        return None


def _staff_json(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Staff only, answered in JSON: a script polling after logout must not get a login page."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        user = request.user
        if not user.is_authenticated:
            return JsonResponse({"error": "not logged in"}, status=401)
        if not (user.is_active and user.is_staff):
            return JsonResponse({"error": "forbidden"}, status=403)
        return view(request, *args, **kwargs)

    return wrapper


@never_cache
@require_GET
@_staff_json
def poll(request: HttpRequest) -> JsonResponse:
    """`GET /desk/poll/`: the user's live calls (callids, the pop-up's HTML) and the interval."""
    agent = _user_agent(request)
    calls = live_calls(agent=agent) if agent is not None else []
    html = (
        render_to_string("calls/desk/popup.html", {"calls": calls}, request=request).strip()
        if calls else ""
    )
    return JsonResponse({
        "callids": [live.callid for live in calls],
        "html": html,
        "poll_seconds": settings.DESK_POLL_SECONDS,
    })


@require_POST
@staff_member_required
def toggle_away(request: HttpRequest) -> HttpResponseRedirect:
    """`POST /desk/away/` with `away=1` or `away=0`: mark the user's own agent away or back."""
    agent = _user_agent(request)
    if agent is None:
        messages.error(request, _("Your user is not linked to an agent."))
    elif request.POST.get("away") == "1":
        set_away(agent=agent, away=True)
        messages.success(request, _("You are marked away: no calls are routed to you."))
    else:
        set_away(agent=agent, away=False)
        messages.success(request, _("You are back: calls are routed to you again."))
    return HttpResponseRedirect(back_to(request, request.POST.get("next")))
