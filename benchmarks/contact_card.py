"""Measure a contact's card (its admin page with the timeline) at a contact with 10 000 calls.

Builds a fresh database (a SQLite file in a temporary folder, or the PostgreSQL database
named by --database-url, which it creates and drops), migrates it and seeds one contact with
--calls calls over two years, among --other-calls calls of other numbers; about a third of all
are missed incoming, each with its callback (the contact's last one open). Then, in-process
(Django's test client, logged in as a superuser, debug off), times the card's first page, a
page in the middle and the last page: the median and best of --repeat runs, and the queries
each page makes; and, for comparison, the same contact's page without the card (a user who may
not see the call log). The test client hands over the whole response at once, so its time is
the time to first byte less the network. Prints a table; it is a measurement, not a test.

    python benchmarks/contact_card.py
    python benchmarks/contact_card.py --database-url postgres://postgres@127.0.0.1:5432/xvb_card
    python benchmarks/contact_card.py --explain       # and the timeline queries' plans
"""
import argparse
import os
import random
import statistics
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import database_label, fresh_database, migrate, server_env  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
BATCH = 5000
PHONE = "+79201119613"


def seed(*, calls: int, other_calls: int, rng: random.Random) -> int:
    """The contact with `calls` calls and their callbacks, among other numbers' calls."""
    from django.utils import timezone

    from calls.models import Call, Callback, CallResult
    from contacts.models import Agent, Contact, ContactPhone

    team = Agent.objects.bulk_create(
        Agent(extension=str(101 + n), name=f"Агент {n}") for n in range(10)
    )
    results = CallResult.objects.bulk_create(
        CallResult(name=name, position=n) for n, name in enumerate(["Продажа", "Отказ"])
    )
    contact = Contact.objects.create(name="Клиент с историей", company="ООО Тест",
                                     responsible=team[0])
    ContactPhone.objects.create(contact=contact, number=PHONE)
    now = timezone.now()
    span = timedelta(days=730).total_seconds()
    pending: list[Call] = []
    for n in range(calls + other_calls):
        mine = n < calls
        started = now - timedelta(seconds=rng.uniform(60, span))
        incoming = rng.random() < 0.6
        answered = rng.random() < (0.5 if incoming else 0.7)
        agent = rng.choice(team)
        pending.append(Call(
            callid=f"c{n}", direction="in" if incoming else "out",
            phone=PHONE if mine else f"+7921{n:07d}", contact=contact if mine else None,
            agent=agent if answered or not incoming else None,
            routed_to=agent if incoming else None,
            outcome="answered" if answered else ("missed" if incoming else "no_answer"),
            duration=rng.randint(15, 900) if answered else None,
            started_at=started, ended_at=started + timedelta(seconds=rng.randint(20, 900)),
            answered_at=started + timedelta(seconds=5) if answered else None,
            result=rng.choice(results) if answered and rng.random() < 0.3 else None,
            note="Перезвонить после обеда" if answered and rng.random() < 0.1 else "",
            record_link=f"https://pbx.example/rec/{n}.mp3" if answered else "",
        ))
        if len(pending) >= BATCH:
            Call.objects.bulk_create(pending)
            pending.clear()
    Call.objects.bulk_create(pending)
    missed = Call.objects.filter(direction="in", outcome="missed").order_by("started_at")
    last = missed.filter(contact=contact).values_list("pk", flat=True).last()
    rows = []
    for call in missed.iterator():
        waited = timedelta(minutes=rng.randint(5, 600))
        is_open = call.pk == last
        rows.append(Callback(
            phone=call.phone, contact=call.contact, agent=team[0], missed_call=call,
            created_at=call.started_at + timedelta(seconds=1),
            closed_at=None if is_open else call.started_at + waited,
            waited=None if is_open else waited,
        ))
    Callback.objects.bulk_create(rows, batch_size=BATCH)
    return contact.pk


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="default: a SQLite file in a temporary folder")
    parser.add_argument("--calls", type=int, default=10_000, help="of the contact")
    parser.add_argument("--other-calls", type=int, default=40_000, help="of other numbers")
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--explain", action="store_true", help="print the queries' plans")
    args = parser.parse_args()

    with fresh_database(args.database_url) as url:
        env = server_env(url, "bench")
        env["DJANGO_ALLOWED_HOSTS"] = "testserver"
        migrate(env)
        os.environ.update(env)
        sys.path.insert(0, str(ROOT))
        os.chdir(ROOT)
        import django

        django.setup()
        from django.contrib.auth.models import Permission, User
        from django.db import connection, connections
        from django.test import Client

        from calls.timeline.services import PAGE, timeline_page
        from contacts.models import Contact

        start = time.perf_counter()
        contact_id = seed(calls=args.calls, other_calls=args.other_calls, rng=random.Random(5))
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        print(f"{database_label(connection)}: a contact with {args.calls:,} calls among "
              f"{args.calls + args.other_calls:,}, seeded in {time.perf_counter() - start:.0f} s")

        user = User.objects.create_superuser("bench", password="bench-pw-1")
        client = Client()
        client.force_login(user)
        page_url = f"/admin/contacts/contact/{contact_id}/change/"
        contact = Contact.objects.get(pk=contact_id)

        def position_after(pages: int) -> str:
            """The `older` token after `pages` pages (walked by the service, not timed)."""
            position = None
            for _ in range(pages):
                page = timeline_page(contact=contact, user=user, may_place_calls=True,
                                     older=position)
                position = page.older or position
            return position.token if position else ""

        entries = args.calls * 4 // 3  # calls, callbacks and the creation, about
        last = max(entries // PAGE - 1, 0)
        cases = [("first page", ""), (f"page {last // 2 + 1}", position_after(last // 2)),
                 (f"page {last + 1} (the last)", position_after(last))]
        print(f"\n{'page of the card':<26} {'median ms':>10} {'best ms':>9} {'queries':>8} "
              f"{'entries':>8}")
        for name, token in cases:
            query = {"older": token} if token else {}
            queries: list[str] = []
            with connection.execute_wrapper(_counter(queries)):
                response = client.get(page_url, query)
            assert response.status_code == 200, response.status_code
            shown = response.content.count(b'class="xvb-entry ')
            median, best = timed(lambda q=query: client.get(page_url, q), args.repeat)
            print(f"{name:<26} {median:>10.1f} {best:>9.1f} {len(queries):>8} {shown:>8}")
        clerk = User.objects.create_user("clerk", password="clerk-pw-1", is_staff=True)
        clerk.user_permissions.add(*Permission.objects.filter(
            codename__in=["view_contact", "change_contact"]))
        client.force_login(clerk)
        median, best = timed(lambda: client.get(page_url), args.repeat)
        print(f"{'without the card':<26} {median:>10.1f} {best:>9.1f}")
        if args.explain:
            _explain(connection, contact, user)
        connections.close_all()
    return 0


def timed(action: Callable[[], object], repeat: int) -> tuple[float, float]:
    """Median and best wall time of `action` in milliseconds (after one warm-up run)."""
    action()
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        runs.append((time.perf_counter() - start) * 1000)
    return statistics.median(runs), min(runs)


def _counter(queries: list[str]) -> Callable:
    def count(execute: Callable, sql: str, *args: object) -> object:
        queries.append(sql)
        return execute(sql, *args)

    return count


def _explain(connection: object, contact: object, user: object) -> None:
    """The plans of the timeline's queries on a page in the middle."""
    from django.db.models import Q

    from calls.models import Call, Callback
    from calls.timeline.services import timeline_page

    page = timeline_page(contact=contact, user=user, may_place_calls=True)
    for _ in range(50):
        page = timeline_page(contact=contact, user=user, may_place_calls=True, older=page.older)
    at = page.older.at
    print(f"\nplans at {page.older.token}:")
    queries = [
        Call.objects.filter(contact=contact).filter(Q(started_at__lte=at))
        .order_by("-started_at", "-id")[:21],
        Callback.objects.filter(contact=contact, created_at__lt=at)
        .order_by("-created_at", "-id")[:21],
        Call.objects.filter(contact=contact).order_by("-started_at", "-id")[:1],
        Callback.objects.filter(contact=contact, closed_at=None).order_by("created_at", "id")[:20],
    ]
    for queryset in queries:
        print(f"\n{queryset.query}\n{queryset.explain()}")


if __name__ == "__main__":
    sys.exit(main())
