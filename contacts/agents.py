"""Agents: made on first sight of their extension, and marked away or back."""
from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from contacts.models import Agent


def ensure_agent(extension: str) -> Agent | None:
    """The agent with this extension, created on first sight so the agent list fills itself."""
    extension = extension.strip()
    if not extension:
        return None
    try:
        return Agent.objects.get(extension=extension)
    except Agent.DoesNotExist:
        pass
    try:
        with transaction.atomic():
            return Agent.objects.create(extension=extension)
    except IntegrityError:  # created by a concurrent request in the meantime
        return Agent.objects.get(extension=extension)


def mark_away(agent: Agent, *, away: bool, now: datetime | None = None) -> None:
    """Set the agent away or back (not saved); `away_since` says since when."""
    agent.is_away = away
    agent.away_since = (now or timezone.now()) if away else None
