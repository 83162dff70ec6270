"""Demo agents and contacts for trying the CRM on a fresh database (`manage.py demo_data`)."""
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction

from calls.models import Call, CallAttempt, PbxRequest
from contacts.models import Agent, Contact
from contacts.services import save_contact

# (extension, name); the first one is linked to the user who tries the CRM.
DEMO_AGENTS = (
    ("100", "Анна Смирнова"),
    ("101", "Игорь Петров"),
    ("102", "Мария Кузнецова"),
)


@dataclass(frozen=True)
class DemoContact:
    name: str
    company: str
    phone: str  # E.164
    email: str
    responsible: str  # an extension from DEMO_AGENTS


DEMO_CONTACTS = (
    # The caller of the vendor's captures, as the README's walkthrough knows him.
    DemoContact("Вася", "Рога и Копыта", "+79201119613", "vasya@example.com", "100"),
    DemoContact("Ольга Иванова", "ООО «Северный ветер»", "+79035550123",
                "o.ivanova@example.com", "101"),
    DemoContact("Дмитрий Соколов", "ИП Соколов Д. А.", "+79165550147", "", "102"),
    DemoContact("Екатерина Волкова", "АО «Техностандарт»", "+79265550182",
                "volkova@example.com", "100"),
    DemoContact("Сергей Морозов", "", "+79855550134", "", "101"),
    DemoContact("Наталья Павлова", "ООО «Ромашка»", "+79995550175",
                "n.pavlova@example.com", "102"),
)

# Any row in one of these means someone uses this database: demo data would mix with theirs.
# (Users do not count: `make run` creates the superuser first.)
DATA_MODELS = (Agent, Contact, Call, PbxRequest, CallAttempt)


@dataclass(frozen=True)
class DemoData:
    """What `create_demo_data` added."""

    agents: list[Agent]
    contacts: list[Contact]
    user: AbstractBaseUser | None  # linked to the first agent, if any


def has_data() -> bool:
    """True when the database holds any agent, contact, call, call attempt or PBX request."""
    return any(model.objects.exists() for model in DATA_MODELS)


def first_superuser() -> AbstractBaseUser | None:
    """The superuser created first, to be linked to the first demo agent."""
    return get_user_model().objects.filter(is_superuser=True).order_by("pk").first()


def create_demo_data(*, user: AbstractBaseUser | None = None) -> DemoData | None:
    """Add the demo agents (the first linked to `user`) and contacts to a fresh database.

    Returns None, having changed nothing, when the database has data already.
    """
    try:
        with transaction.atomic():
            if has_data():
                return None
            # Created outright, not with ensure_agent (which returns an existing agent): if a
            # concurrent run got here first, the unique extension makes this whole run fail
            # and roll back instead of adding its contacts a second time.
            agents = {
                extension: Agent.objects.create(
                    extension=extension, name=name, user=user if index == 0 else None
                )
                for index, (extension, name) in enumerate(DEMO_AGENTS)
            }
            contacts = [
                save_contact(
                    name=demo.name, company=demo.company, email=demo.email,
                    responsible=agents[demo.responsible], phones=[demo.phone],
                )
                for demo in DEMO_CONTACTS
            ]
    except IntegrityError:
        return None
    return DemoData(agents=list(agents.values()), contacts=contacts, user=user)
