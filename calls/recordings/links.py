"""Which recording links the CRM may fetch, and the addresses it may connect to for them.

A link is parsed once, with urllib3's `parse_url` (the parser of the HTTP stack), and refused
if the standard library's `urlsplit` reads another host or port from it, so no link is read
one way when checked and another way when fetched. Its name is resolved once, through
`resolver` (tests put their own there), every address is checked, and `check_link` returns
those addresses: the fetcher connects to them and to nothing else.
"""
import contextlib
import ipaddress
import re
import socket
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

import idna
from django.conf import settings
from django.utils.translation import gettext as _
from urllib3.exceptions import LocationParseError
from urllib3.util import parse_url

from xvbcrm.net import Address, parse_address

_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")
_NUMERIC_LABEL = re.compile(r"[0-9]+|0x[0-9a-f]*")
# IANA's special-purpose ranges that are not global, which `is_global` misses before Python
# 3.12.4 (192.0.0.0/24, Teredo's and benchmarking's 2001::/23, 3fff::/20, ...).
_NOT_GLOBAL = tuple(ipaddress.ip_network(net) for net in (
    "192.0.0.0/24", "192.88.99.0/24", "240.0.0.0/4", "100::/64", "64:ff9b:1::/48", "2001::/23",
    "2001:db8::/32", "3fff::/20", "5f00::/16", "fec0::/10",
))
# NAT64: a gateway connects to the IPv4 address in the last 32 bits (IPv4-mapped and 6to4
# addresses are read by `ipaddress` itself).
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class RecordingUnavailable(Exception):
    """Not there yet or not reachable now (404, 5xx, connection failure, timeout): retried."""


class RecordingRefused(Exception):
    """Never to be fetched (forbidden host, not audio, too big, other 4xx): not retried."""


@dataclass(frozen=True)
class Link:
    """A parsed link: what the request line, the Host header and TLS are made of."""

    scheme: str  # "http" or "https"
    host: str  # lower-case ASCII name (IDNA), or an IP address without brackets
    port: int
    target: str  # path and query, as sent on the request line
    ip: Address | None  # the host, when the link names an address


@dataclass(frozen=True)
class Destination:
    """A link allowed to be fetched, with the checked addresses to connect to, in order."""

    link: Link
    addresses: tuple[Address, ...]


def _invalid(reason: str) -> RecordingRefused:
    return RecordingRefused(_("not a valid link: %(reason)s") % {"reason": reason})


def _idna(name: str) -> str:
    """The ASCII form of a name, the way urllib3 makes it."""
    if name.isascii():
        return name.lower()
    return idna.encode(name.lower(), strict=True, std3_rules=True).decode("ascii")


def _host(raw: str) -> tuple[str, Address | None]:
    """The host as urllib3 gave it, checked: a plain name, a dotted IPv4 or a bracketed IPv6."""
    if raw.startswith("["):
        try:
            return str(ipaddress.IPv6Address(raw[1:-1])), ipaddress.IPv6Address(raw[1:-1])
        except ValueError:
            raise _invalid(_("not a valid IPv6 address")) from None
    labels = raw.split(".")
    if _NUMERIC_LABEL.fullmatch(labels[-1]):
        # What resolvers read as an IPv4 address (2130706433, 0x7f.1, 0177.0.0.1, 127.1):
        # only the four decimal numbers are accepted.
        try:
            return raw, ipaddress.IPv4Address(raw)
        except ValueError:
            raise _invalid(_("an IP address not written as four decimal numbers")) from None
    if len(raw) > 253 or not all(_LABEL.fullmatch(label) for label in labels):
        raise _invalid(_("not a valid host name"))
    return raw, None


def check_characters(url: str) -> None:
    """Refuse spaces, control characters and backslashes, which parsers read differently."""
    if any(char == "\\" or unicodedata.category(char)[0] in "CZ" for char in url):
        raise _invalid(_("spaces, control characters or backslashes"))


def parse_link(url: str) -> Link:
    """The link as the HTTP stack reads it; RecordingRefused if it is malformed or ambiguous."""
    check_characters(url)
    try:
        parsed = parse_url(url)
        split = urlsplit(url)
        split_host, split_port = _idna(split.hostname or ""), split.port
    except (LocationParseError, ValueError, idna.IDNAError):
        raise _invalid(_("cannot be read")) from None
    scheme = (parsed.scheme or "").lower()
    if scheme not in ("http", "https"):
        raise RecordingRefused(_("not an http(s) link"))
    if not parsed.host:
        raise _invalid(_("no host"))
    if parsed.auth is not None or "@" in split.netloc:
        raise _invalid(_("a user name or password in the link"))
    if "%" in split.netloc:
        raise _invalid(_("a percent-encoded host or an IPv6 zone"))
    if (split.scheme.lower(), split_host, split_port) != (
        scheme, parsed.host.strip("[]"), parsed.port
    ):
        raise _invalid(_("read differently by two URL parsers"))
    host, ip = _host(parsed.host)
    port = parsed.port or (443 if scheme == "https" else 80)
    return Link(scheme=scheme, host=host, port=port, target=parsed.request_uri, ip=ip)


def is_public(address: Address) -> bool:
    """A global unicast address, with the IPv4 address an IPv6 one embeds global too."""
    if address.is_multicast or not address.is_global:
        return False
    if any(address in net for net in _NOT_GLOBAL if net.version == address.version):
        return False
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is None and address in _NAT64:
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None:
            return is_public(embedded)
    return True


def _system_resolver(host: str, port: int) -> list[str]:
    """The addresses the system's resolver gives for `host` (OSError if none)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [info[4][0] for info in infos]


# Every name is resolved through this one function (tests replace it with their own).
resolver: Callable[[str, int], list[str]] = _system_resolver


def _listed_addresses(allowed: list[str]) -> set[Address]:
    addresses = set()
    for entry in allowed:
        with contextlib.suppress(ValueError):  # a name
            addresses.add(ipaddress.ip_address(entry.strip("[]")))
    return addresses


def _entry(entry: str) -> str:
    """An allow-list entry in the form hosts are compared in (IDNA names in ASCII)."""
    entry = entry.strip()
    dot = "." if entry.startswith(".") else ""
    try:
        return dot + _idna(entry.removeprefix("."))
    except idna.IDNAError:
        return entry.lower()


def _name_allowed(host: str, allowed: list[str]) -> bool:
    return any(host == entry or (entry.startswith(".") and (host.endswith(entry)
                                                             or host == entry[1:]))
               for entry in allowed)


def check_link(url: str, *, allowed: list[str] | None = None) -> Destination:
    """Where the CRM may connect to fetch `url`, or RecordingRefused; no connection is made.

    The host must be on `allowed` (RECORDINGS_ALLOWED_HOSTS): an address listed exactly, or a
    name listed or under a listed `.domain`. A name is resolved once and every address must
    be public (global unicast) or itself listed.
    """
    allowed = [_entry(entry) for entry in (settings.RECORDINGS_ALLOWED_HOSTS
                                           if allowed is None else allowed)]
    link = parse_link(url)
    listed = _listed_addresses(allowed)
    if link.ip is not None:
        if link.ip not in listed:
            raise RecordingRefused(_("host %(host)s is not allowed (RECORDINGS_ALLOWED_HOSTS)")
                                   % {"host": link.host})
        return Destination(link=link, addresses=(link.ip,))
    if not _name_allowed(link.host, allowed):
        raise RecordingRefused(_("host %(host)s is not allowed (RECORDINGS_ALLOWED_HOSTS)")
                               % {"host": link.host})
    try:
        answers = resolver(link.host, link.port)
        addresses = tuple(dict.fromkeys(parse_address(a) for a in answers))
    except (OSError, UnicodeError, ValueError):
        addresses = ()
    if not addresses:
        raise RecordingUnavailable(_("cannot resolve %(host)s") % {"host": link.host})
    for address in addresses:
        if not (is_public(address) or address in listed):
            raise RecordingRefused(
                _("host %(host)s resolves to a non-public address (%(address)s)")
                % {"host": link.host, "address": address}
            )
    return Destination(link=link, addresses=addresses)
