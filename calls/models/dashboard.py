"""The dashboard's roll-up of past days: per day, per agent and per hour."""
from django.db import models
from django.utils.translation import gettext_lazy as _

from contacts.models import Agent


class CallStatDay(models.Model):
    """A past local day, in one time zone, whose calls are rolled up; its rows go with it.

    A stale day is one to count (again): made by `manage.py rollup_calls` before it counts it,
    or marked by a later change to one of its calls. Views count a stale day's calls instead
    of reading its rows.
    """

    time_zone = models.CharField(max_length=64)
    day = models.DateField()
    # The day's bounds: a call whose start moves into or out of them makes the day stale.
    start = models.DateTimeField(db_index=True)
    end = models.DateTimeField()
    computed_at = models.DateTimeField()
    stale = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["time_zone", "day"], name="callstatday_unique"),
        ]
        verbose_name = _("rolled-up day")
        verbose_name_plural = _("rolled-up days")

    def __str__(self) -> str:
        return f"{self.day} {self.time_zone}"


def forget_stat_days(collector, field, sub_objs, using) -> None:  # noqa: ANN001
    """A rolled-up agent deleted: forget the days they had calls on, recomputed on the next
    view (their calls now count for the agent they were routed to, or for nobody)."""
    days = CallStatDay.objects.using(using).filter(pk__in={row.stat_day_id for row in sub_objs})
    collector.collect(days, source=field.remote_field.model, fail_on_restricted=False)


class CallDayStat(models.Model):
    """The calls of one rolled-up day credited to one agent (who talked, else routed to)."""

    stat_day = models.ForeignKey(
        CallStatDay, on_delete=models.CASCADE, related_name="agent_stats"
    )
    agent = models.ForeignKey(
        Agent, on_delete=forget_stat_days, null=True, blank=True, related_name="+"
    )
    calls = models.PositiveIntegerField(default=0)
    incoming = models.PositiveIntegerField(default=0)  # answered or not, missed excepted
    outgoing = models.PositiveIntegerField(default=0)
    missed = models.PositiveIntegerField(default=0)
    answered = models.PositiveIntegerField(default=0)
    talked = models.PositiveIntegerField(default=0)  # answered with a talk time
    talk_seconds = models.PositiveBigIntegerField(default=0)

    class Meta:
        verbose_name = _("rolled-up calls of a day")
        verbose_name_plural = _("rolled-up calls of days")

    def __str__(self) -> str:
        return f"{self.stat_day} {self.agent_id or '-'}"


class CallHourStat(models.Model):
    """The calls started in one local hour of a rolled-up day."""

    stat_day = models.ForeignKey(CallStatDay, on_delete=models.CASCADE, related_name="+")
    hour = models.PositiveSmallIntegerField()
    calls = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("rolled-up calls of an hour")
        verbose_name_plural = _("rolled-up calls of hours")

    def __str__(self) -> str:
        return f"{self.stat_day} {self.hour}:00"


# --- recordings: our archived copy of each call's recording, and who listened ----------------
