"""`manage.py pbx_emulator`: run a stand-in XVB PBX against the CRM (see calls/emulator.py)."""
import secrets
import threading

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from calls.emulator import EmulatorConfig, PbxEmulator, parse_numbers


class Command(BaseCommand):
    help = (
        "Emulate the XVB PBX: serve makeCall and recordings, play calls to the CRM's webhook. "
        "--inbound N places N inbound calls after start-up, then keeps serving (--exit: stop)."
    )
    requires_system_checks = []  # the PBX side needs none of the CRM's checks

    def add_arguments(self, parser) -> None:  # noqa: ANN001
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8001)
        parser.add_argument("--crm-url", default="http://127.0.0.1:8000/crm-api",
                            help="the CRM's webhook (the PBX's 'WebHook URL')")
        parser.add_argument("--access-code", default=None,
                            help="sent with every webhook (default: PBX_ACCESS_CODE)")
        parser.add_argument("--token", default=None,
                            help="makeCall token (default: PBX_TOKEN, else a new one)")
        parser.add_argument("--pace", type=float, default=1.0,
                            help="seconds between the events of a call")
        parser.add_argument("--duplicates", action="store_true", help="send every event twice")
        parser.add_argument("--shuffle", action="store_true",
                            help="send each call's events in a random order")
        parser.add_argument("--inbound", type=int, default=0, metavar="N",
                            help="place N inbound calls after start-up")
        parser.add_argument("--numbers", default="",
                            help="comma-separated caller numbers (default: random +7920...)")
        parser.add_argument("--agents", default="100,101,102",
                            help="queue extensions for callers without a responsible")
        parser.add_argument("--line", default="74950000000", help="the dialled company number")
        parser.add_argument("--seed", type=int, default=None,
                            help="make the inbound calls' numbers and outcomes repeatable")
        parser.add_argument("--exit", action="store_true",
                            help="exit once the inbound calls are placed instead of serving")

    def handle(self, *args: object, **options: object) -> None:
        access_code = options["access_code"] or settings.PBX_ACCESS_CODE
        if not access_code:
            raise CommandError("No access code: pass --access-code or set PBX_ACCESS_CODE.")
        token = options["token"] or settings.PBX_TOKEN or secrets.token_urlsafe(16)
        config = EmulatorConfig(
            crm_url=options["crm_url"],
            access_code=access_code,
            token=token,
            pace=options["pace"],
            duplicates=options["duplicates"],
            shuffle=options["shuffle"],
            agents=tuple(a.strip() for a in options["agents"].split(",") if a.strip()),
            line_number=options["line"],
            seed=options["seed"],
        )
        if not config.agents:
            raise CommandError("--agents needs at least one extension.")
        log_lock = threading.Lock()

        def log(line: str) -> None:
            with log_lock:
                self.stdout.write(line)

        try:
            emulator = PbxEmulator(config, host=options["host"], port=options["port"], log=log)
        except OSError as exc:
            raise CommandError(f"Cannot listen on {options['host']}:{options['port']}: {exc}") \
                from exc
        self.stdout.write(f"XVB PBX emulator at {emulator.url}, sending to {config.crm_url}")
        self.stdout.write(f"Set in the CRM: PBX_URL={emulator.url} PBX_TOKEN={token}")
        emulator.start()
        try:
            self._place_inbound(emulator, options)
            if options["exit"]:
                emulator.join()
                return
            self.stdout.write("Serving makeCall and recordings; Ctrl-C to stop.")
            threading.Event().wait()
        except KeyboardInterrupt:
            pass
        finally:
            emulator.shutdown()

    def _place_inbound(self, emulator: PbxEmulator, options: dict) -> None:
        count = options["inbound"]
        if count <= 0:
            return
        calls = emulator.place_inbound(count, numbers=parse_numbers(options["numbers"]))
        for call in calls:
            who = f"answered by {call.ext}" if call.ext else "nobody answered"
            self.stdout.write(f"Inbound {call.callid} from {call.phone}: {call.status}, {who}")
