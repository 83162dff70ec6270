"""`manage.py ensure_superuser`: make an `admin` superuser with a random password if none exists."""
import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Create a superuser with a random password (printed once) if the database has none."

    def add_arguments(self, parser) -> None:  # noqa: ANN001
        parser.add_argument("--username", default="admin")

    def handle(self, *args: object, username: str, **options: object) -> None:
        User = get_user_model()  # noqa: N806
        if User.objects.filter(is_superuser=True).exists():
            self.stdout.write("A superuser exists already; no new one was made.")
            return
        password = secrets.token_urlsafe(12)
        User.objects.create_superuser(username=username, email="", password=password)
        self.stdout.write(
            self.style.SUCCESS(
                f"Created superuser {username!r} with password {password!r}. "
                "It is shown only this once: note it down."
            )
        )
