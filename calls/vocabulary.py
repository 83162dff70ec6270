"""The call log's own words: which way a call went and what became of it.

Defined once, here: the Call model's choices are these, and the PBX protocol
(calls/pbx/protocol.py) maps the PBX's words into them.
"""
from django.db import models
from django.utils.translation import gettext_lazy as _


class Direction(models.TextChoices):
    """Which way a call went."""

    IN = "in", _("incoming")
    OUT = "out", _("outgoing")


class Outcome(models.TextChoices):
    """What became of a call, whatever words the PBX used for it."""

    IN_PROGRESS = "in_progress", _("in progress")
    ANSWERED = "answered", _("answered")
    MISSED = "missed", _("missed")
    NO_ANSWER = "no_answer", _("no answer")
    BUSY = "busy", _("busy")
    FAILED = "failed", _("failed")
    UNKNOWN = "unknown", _("unknown")
