"""`manage.py pbx_emulator`: run a stand-in XVB PBX against the CRM (see calls/pbx/emulator.py)."""
import secrets
import threading
from http import HTTPStatus
from urllib.parse import urlsplit

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from calls.pbx.emulator import EmulatorConfig, PbxEmulator, loopback_address, parse_numbers
from calls.pbx.emulator_http import Reply

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8001


class Command(BaseCommand):
    help = (
        "Emulate the XVB PBX: serve makeCall and recordings, play calls to the CRM's webhook. "
        "--inbound N places N inbound calls after start-up, then keeps serving (--exit: stop). "
        "--from-settings serves at the CRM's own PBX_URL with its PBX_TOKEN (as `make run` "
        "does), unless PBX_URL is a real PBX."
    )
    requires_system_checks = []  # the PBX side needs none of the CRM's checks

    def add_arguments(self, parser) -> None:  # noqa: ANN001
        parser.add_argument("--host", default=None, help=f"default: {DEFAULT_HOST}")
        parser.add_argument("--port", type=int, default=None, help=f"default: {DEFAULT_PORT}")
        parser.add_argument(
            "--from-settings", action="store_true",
            help="listen at the host and port of PBX_URL and take PBX_TOKEN, so the CRM calls "
            "this emulator as it is configured; exit at once, serving nothing, when PBX_URL "
            "is empty or not an http:// address on this machine (a real PBX)",
        )
        parser.add_argument("--crm-url", default="http://127.0.0.1:8000/crm-api",
                            help="the CRM's webhook (the PBX's 'WebHook URL')")
        parser.add_argument("--access-code", default=None,
                            help="sent with every webhook (default: PBX_ACCESS_CODE)")
        parser.add_argument("--token", default=None,
                            help="makeCall token (default: PBX_TOKEN, else a new one)")
        parser.add_argument(
            "--recordings-from", default="", metavar="URL",
            help="base URL of the recording links sent to the CRM (default: this emulator's "
            "own address); PBX_URL: the CRM's PBX_URL, i.e. the emulator `make run` started, "
            "which serves every recording, so the links of an --exit run keep playing",
        )
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
        # A real PBX at its worst, to see what the CRM makes of it.
        parser.add_argument("--slow", type=float, default=0.0, metavar="SECONDS",
                            help="wait this long before answering makeCall or a download")
        parser.add_argument("--refuse", type=int, default=0, metavar="STATUS",
                            help="refuse every makeCall with this HTTP status (401: "
                            "'Invalid token', 400: 'Invalid parameters', 503...)")
        parser.add_argument("--late-recordings", type=int, default=0, metavar="N",
                            help="answer the first N downloads of each recording 404, "
                            "as a PBX still writing it")

    def handle(self, *args: object, **options: object) -> None:
        host, port = options["host"] or DEFAULT_HOST, options["port"]
        if port is None:
            port = DEFAULT_PORT
        if options["from_settings"]:
            if any(options[name] is not None for name in ("host", "port", "token")):
                raise CommandError(
                    "--from-settings takes the host, port and token from PBX_URL and PBX_TOKEN: "
                    "leave out --host, --port and --token."
                )
            address = self._settings_address()
            if address is None:
                return
            host, port = address
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
            recordings_from=self._recordings_from(options["recordings_from"]),
        )
        if not config.agents:
            raise CommandError("--agents needs at least one extension.")
        if options["refuse"] and not (
            400 <= options["refuse"] <= 599 and options["refuse"] in set(HTTPStatus)
        ):
            raise CommandError("--refuse needs an HTTP error status, such as 401 or 503.")
        log_lock = threading.Lock()

        def log(line: str) -> None:
            with log_lock:
                self.stdout.write(line)

        try:
            emulator = PbxEmulator(config, host=host, port=port, log=log)
        except OSError as exc:
            hint = " (another port: change PBX_URL in .env)" if options["from_settings"] else ""
            raise CommandError(f"Cannot listen on {host}:{port}: {exc}{hint}") from exc
        self.stdout.write(f"XVB PBX emulator at {emulator.url}, sending to {config.crm_url}")
        if options["from_settings"]:
            self.stdout.write("The CRM's PBX_URL and PBX_TOKEN point here.")
        elif config.recordings_from:
            # A helper placing calls for another emulator, which the CRM is set up to call.
            self.stdout.write(f"Recording links point at {config.recordings_from}")
        else:
            self.stdout.write(f"Set in the CRM: PBX_URL={emulator.url} PBX_TOKEN={token}")
        self._switch(emulator, options)
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

    def _settings_address(self) -> tuple[str, int] | None:
        """Where PBX_URL says the PBX is, when that is this machine; else say why not."""
        url = settings.PBX_URL
        if not url:
            self.stdout.write(
                "PBX_URL is empty: not starting the emulator. To use it, set "
                f"PBX_URL=http://{DEFAULT_HOST}:{DEFAULT_PORT}/ and a PBX_TOKEN in .env."
            )
            return None
        address = loopback_address(url)
        if address is None:
            self.stdout.write(f"PBX_URL points at {_where(url)}: not starting the emulator.")
            return None
        if not settings.PBX_TOKEN:
            self.stdout.write(
                "PBX_TOKEN is empty: not starting the emulator (the CRM could not call it). "
                "Set PBX_TOKEN in .env to any random string."
            )
            return None
        return address

    def _recordings_from(self, value: str) -> str:
        """The base URL for recording links: a URL as given, or `PBX_URL` for the setting."""
        if value == "PBX_URL":
            if loopback_address(settings.PBX_URL) is None:
                where = _where(settings.PBX_URL) if settings.PBX_URL else "nothing (empty)"
                raise CommandError(
                    f"--recordings-from PBX_URL: PBX_URL points at {where}, not at an emulator "
                    "on this machine; pass the emulator's URL instead."
                )
            return settings.PBX_URL
        if value and urlsplit(value).scheme not in ("http", "https"):
            raise CommandError(f"--recordings-from needs an http(s) URL, not {value!r}.")
        return value

    def _switch(self, emulator: PbxEmulator, options: dict) -> None:
        """Flip the switches the options name, saying so."""
        switches = emulator.switches
        switches.slow = max(options["slow"], 0.0)
        switches.late_recordings = max(options["late_recordings"], 0)
        if options["refuse"]:
            switches.make_call_reply = Reply.error(options["refuse"])
            self.stdout.write(f"Refusing every makeCall: {options['refuse']}.")
        if switches.slow:
            self.stdout.write(f"Answering after {switches.slow:g} s.")
        if switches.late_recordings:
            self.stdout.write(f"Recordings: 404 for their first {switches.late_recordings} "
                              "downloads.")

    def _place_inbound(self, emulator: PbxEmulator, options: dict) -> None:
        count = options["inbound"]
        if count <= 0:
            return
        calls = emulator.place_inbound(count, numbers=parse_numbers(options["numbers"]))
        for call in calls:
            who = f"answered by {call.ext}" if call.ext else "nobody answered"
            self.stdout.write(f"Inbound {call.callid} from {call.phone}: {call.status}, {who}")


def _where(url: str) -> str:
    """`scheme://host[:port]` of a URL, never its credentials or path."""
    try:
        parts = urlsplit(url)
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "an unreadable address"
    if not parts.hostname:
        return repr(url[:100])
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return f"{parts.scheme}://{host}{port}"
