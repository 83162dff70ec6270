"""`manage.py demo_data`: demo agents and contacts on a fresh database (see calls/demo.py)."""
from argparse import ArgumentParser

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.management.base import BaseCommand, CommandError

from calls.demo import create_demo_data, first_superuser
from contacts.phones import format_phone


class Command(BaseCommand):
    help = (
        "Add three demo agents (100, 101, 102) and six demo contacts, and link agent 100 to a "
        "superuser, so that calls can be placed and received at once. Only on a fresh "
        "database: one with any agent, contact, call or PBX request is left as it is."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--user", default=None, metavar="USERNAME",
            help="the user to link agent 100 to (default: the first superuser)",
        )

    def handle(self, *args: object, user: str | None, **options: object) -> None:
        account = self._account(user)
        demo = create_demo_data(user=account)
        if demo is None:
            self.stdout.write(
                "The database has data (agents, contacts, calls or PBX requests): "
                "no demo data added."
            )
            return
        self.stdout.write(self.style.SUCCESS("Demo data added:"))
        for agent in demo.agents:
            linked = f", linked to user {agent.user.get_username()}" if agent.user else ""
            self.stdout.write(f"  agent {agent}{linked}")
        for contact in demo.contacts:
            phones = ", ".join(format_phone(phone.number) for phone in contact.phones.all())
            self.stdout.write(
                f"  contact {contact.display_name}: {phones}, "
                f"responsible {contact.responsible.extension}"
            )
        if demo.user is None:
            self.stdout.write(
                f"No superuser to link agent {demo.agents[0].extension} to: link it to your "
                "user under Calls → Agents to place calls."
            )

    def _account(self, username: str | None) -> AbstractBaseUser | None:
        if username is None:
            return first_superuser()
        try:
            return get_user_model().objects.get_by_natural_key(username)
        except get_user_model().DoesNotExist as exc:
            raise CommandError(f"No user {username!r}.") from exc
