"""A stand-in for the XVB cloud PBX: answers makeCall, serves recordings, plays calls to a CRM.

It is the PBX side of `shared/pbx-protocol.md`, so it spells the PBX's field names itself.
Standard library only, and nothing from the CRM's models: it talks to the CRM over HTTP alone.
This module holds the calls and the webhooks; calls/pbx/emulator_http.py the HTTP server.
"""
import base64
import http.client
import io
import ipaddress
import json
import math
import random
import re
import secrets
import struct
import threading
import wave
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

from calls.pbx.emulator_http import RECORDINGS_PATH, Fields, Log, PbxHttpServer, Switches


def new_callid() -> str:
    """A fresh PBX call id: 22 base64url characters, like `DVzqd2I5zmRev0vLvxVevw`."""
    return base64.urlsafe_b64encode(secrets.token_bytes(16)).rstrip(b"=").decode("ascii")


def tone_wav(*, seconds: float = 2.0, rate: int = 8000, frequency: float = 440.0) -> bytes:
    """A short mono 16-bit WAV of a fading tone: the emulator's every recording."""
    frames = int(seconds * rate)
    samples = (
        int(12000 * (1 - n / frames) * math.sin(2 * math.pi * frequency * n / rate))
        for n in range(frames)
    )
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(b"".join(struct.pack("<h", sample) for sample in samples))
    return buffer.getvalue()


@dataclass(frozen=True)
class EmulatorConfig:
    """Where the CRM is, the shared secrets, and how the PBX delivers its webhooks."""

    crm_url: str  # the PBX's WebHook URL; empty: it sends no webhooks (integration off)
    access_code: str
    token: str
    pace: float = 1.0  # seconds between the events of a call
    duplicates: bool = False  # deliver every event twice
    shuffle: bool = False  # deliver each call's events in a random order
    agents: tuple[str, ...] = ("100", "101", "102")  # the queue, when nobody is responsible
    line_number: str = "74950000000"  # the company number inbound callers dial
    seed: int | None = None
    timeout: float = 5.0
    # Base URL of the recording links sent in COMPLETED; empty: this emulator's own address.
    # A short-lived emulator points them at a long-running one, which serves every recording.
    recordings_from: str = ""


@dataclass(frozen=True)
class InboundCall:
    """One inbound call the emulator placed, and how it ended."""

    callid: str
    phone: str
    status: str  # the COMPLETED status sent: Success, missed or Busy
    ext: str  # the extension that answered, "" when nobody did
    duration: int
    record_link: str


def outbound_events(
    *, callid: str, ext: str, phone: str, duration: int, record_link: str
) -> list[Fields]:
    """The webhooks of an answered click-to-call: start, pickup, hang-up."""
    return [
        {"cmd": "event", "callid": callid, "type": "out", "event": "OUTGOING",
         "ext": ext, "phone": phone},
        {"cmd": "event", "callid": callid, "type": "out", "event": "ANSWERED",
         "ext": ext, "phone": phone},
        # As in the vendor's capture, COMPLETED carries no `type` and its own field order.
        {"cmd": "event", "status": "Success", "duration": str(duration), "event": "COMPLETED",
         "phone": phone, "record_link": record_link, "callid": callid, "ext": ext},
    ]


def inbound_events(*, call: InboundCall, line_number: str) -> list[Fields]:
    """The webhooks of an inbound call: INCOMING, ANSWERED if someone picked up, COMPLETED."""
    events = [
        {"cmd": "event", "callid": call.callid, "type": "in", "event": "INCOMING",
         "ext": "", "phone": call.phone, "line_number": line_number},
    ]
    if call.ext:
        events.append(
            {"cmd": "event", "callid": call.callid, "type": "in", "event": "ANSWERED",
             "ext": call.ext, "phone": call.phone}
        )
    events.append(
        {"cmd": "event", "status": call.status, "duration": str(call.duration),
         "event": "COMPLETED", "phone": call.phone, "record_link": call.record_link,
         "callid": call.callid, "ext": call.ext}
    )
    return events


def loopback_address(url: str) -> tuple[str, int] | None:
    """(host, port) of a plain http:// URL on this machine, else None (a real PBX, or none)."""
    try:
        parts = urlsplit(url)
        port = parts.port or 80
    except ValueError:
        return None
    host = parts.hostname or ""
    if parts.scheme != "http" or not host:
        return None
    if host != "localhost":
        try:
            if not ipaddress.ip_address(host).is_loopback:
                return None
        except ValueError:
            return None
    return host, port


def parse_numbers(text: str) -> tuple[str, ...]:
    """A comma-separated list of numbers as digits (`+7 920 111-96-13` → `79201119613`)."""
    numbers = (re.sub(r"\D", "", part) for part in text.split(","))
    return tuple(number for number in numbers if number)


class PbxEmulator:
    """The emulated PBX: an HTTP server for makeCall and recordings, and a webhook sender."""

    def __init__(
        self, config: EmulatorConfig, *, host: str = "127.0.0.1", port: int = 8001,
        log: Log = print,
    ) -> None:
        self.config = config
        self.log = log
        self.wav = tone_wav()
        self._rng = random.Random(config.seed)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._calls: list[threading.Thread] = []
        self.placed: list[str] = []  # the call ids of the makeCalls it accepted
        self.server = PbxHttpServer(
            (host, port), token=config.token, wav=self.wav, place_call=self.make_call, log=log
        )

    @property
    def switches(self) -> Switches:
        """How it strays from a PBX's best: flip them on a running emulator."""
        return self.server.switches

    @property
    def received(self) -> list[Fields]:
        """Every makeCall form it was sent, refused ones too."""
        return self.server.received

    @property
    def downloads(self) -> list[str]:
        """Every recording path it was asked for."""
        return self.server.downloads

    @property
    def url(self) -> str:
        """The PBX address for the CRM's `PBX_URL`."""
        host, port = self.server.server_address[:2]
        if host in ("0.0.0.0", "::", ""):
            host = "127.0.0.1"
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{port}/"

    def recording_url(self, callid: str) -> str:
        """Where the recording of a call is served; the link goes out in COMPLETED."""
        base = self.config.recordings_from or self.url
        return f"{base.rstrip('/')}{RECORDINGS_PATH}{callid}.wav"

    def start(self) -> threading.Thread:
        """Serve in a background thread (for tests and for placing inbound calls)."""
        thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        thread.start()
        return thread

    def shutdown(self) -> None:
        """Stop serving; cut short the pauses of calls still playing and of slow answers."""
        self._stop.set()
        self.server.shutdown()
        self.server.server_close()

    def join(self, timeout: float = 30.0) -> bool:
        """Wait for the calls being played; True when all of them have finished."""
        with self._lock:
            threads = list(self._calls)
        for thread in threads:
            thread.join(timeout)
        return not any(thread.is_alive() for thread in threads)

    # --- outbound: makeCall --------------------------------------------------------------

    def make_call(self, *, ext: str, phone: str) -> str:
        """Accept a click-to-call and play it to the CRM in the background; return its id."""
        callid = new_callid()
        with self._lock:
            duration = self._rng.randint(3, 40)
            self.placed.append(callid)
        if not self.config.crm_url:
            return callid
        events = outbound_events(
            callid=callid, ext=ext, phone=phone, duration=duration,
            record_link=self.recording_url(callid),
        )
        thread = threading.Thread(target=self.play, args=(events,), daemon=True)
        with self._lock:
            self._calls.append(thread)
        thread.start()
        return callid

    # --- inbound --------------------------------------------------------------------------

    def place_inbound(self, count: int, *, numbers: tuple[str, ...] = ()) -> list[InboundCall]:
        """Place `count` inbound calls one after another; some are missed, some busy."""
        calls = []
        for index in range(count):
            if self._stop.is_set():
                break
            phone = numbers[index % len(numbers)] if numbers else self._random_number()
            calls.append(self.place_one_inbound(phone))
        return calls

    def place_one_inbound(self, phone: str, *, status: str | None = None) -> InboundCall:
        """Ask the CRM who is calling, route the call, and play its events.

        `status` (Success, missed or Busy) decides how it ends; by default a weighted draw.
        """
        callid = new_callid()
        with self._lock:
            drawn = self._rng.choices(["Success", "missed", "Busy"], weights=[6, 3, 1])[0]
            status = status or drawn
            queue_agent = self._rng.choice(self.config.agents)
            duration = self._rng.randint(5, 120)
        answer = self.lookup(phone=phone, callid=callid)
        responsible = answer.get("responsible")
        target = responsible if isinstance(responsible, str) and responsible else queue_agent
        answered = status == "Success"
        call = InboundCall(
            callid=callid,
            phone=phone,
            status=status,
            ext=target if answered else "",
            duration=duration if answered else 0,
            record_link=self.recording_url(callid) if answered else "",
        )
        self.play(inbound_events(call=call, line_number=self.config.line_number))
        return call

    def lookup(self, *, phone: str, callid: str) -> dict:
        """`cmd=contact`: the CRM's answer as a dict, `{}` when it gives none usable."""
        status, body = self.send({"cmd": "contact", "phone": phone, "callid": callid})
        if status != 200:
            return {}
        try:
            answer = json.loads(body)
        except ValueError:
            return {}
        return answer if isinstance(answer, dict) else {}

    def _random_number(self) -> str:
        with self._lock:
            return "7920" + "".join(self._rng.choice("0123456789") for _ in range(7))

    # --- sending webhooks -------------------------------------------------------------------

    def play(self, events: list[Fields]) -> None:
        """Deliver a call's events at the configured pace, shuffled or repeated if asked."""
        events = list(events)
        if self.config.shuffle:
            with self._lock:
                self._rng.shuffle(events)
        for index, fields in enumerate(events):
            if index and self._stop.wait(self.config.pace):
                return
            for _ in range(2 if self.config.duplicates else 1):
                self.send(fields)

    def send(self, fields: Fields) -> tuple[int, str]:
        """POST one webhook as the PBX's Perl LWP client does; (0, reason) when it failed."""
        body = urlencode({"access_code": self.config.access_code, **fields}).encode("ascii")
        what = " ".join(fields[name] for name in ("cmd", "event", "callid") if fields.get(name))
        try:
            status, text = self._post(body)
        except (OSError, http.client.HTTPException) as exc:
            self.log(f"-> {what}: failed ({type(exc).__name__}: {exc})")
            return 0, str(exc)
        self.log(f"-> {what}: {status} {text[:200]}")
        return status, text

    def _post(self, body: bytes) -> tuple[int, str]:
        parts = urlsplit(self.config.crm_url)
        connection_class = (
            http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        )
        connection = connection_class(parts.hostname, parts.port, timeout=self.config.timeout)
        try:
            path = parts.path or "/"
            if parts.query:
                path += "?" + parts.query
            # LWP's header order; one request per connection, so `close`.
            connection.putrequest("POST", path, skip_host=True, skip_accept_encoding=True)
            connection.putheader("TE", "deflate,gzip;q=0.3")
            connection.putheader("Connection", "TE, close")
            connection.putheader("Host", parts.netloc)
            connection.putheader("Content-Length", str(len(body)))
            connection.putheader("Content-Type", "application/x-www-form-urlencoded")
            connection.putheader("X-XVB-AC", self.config.access_code)
            connection.endheaders(body)
            response = connection.getresponse()
            return response.status, response.read().decode("utf-8", "replace")
        finally:
            connection.close()
