"""Which recording links may be fetched: one reading of a link by every parser, the allow-list,
and the addresses a name resolves to (non-public ones refused unless listed themselves)."""
import ipaddress
import itertools
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from urllib3.util import parse_url

from calls.recordings.links import RecordingRefused, check_link, parse_link

ALLOWED = ["vpbx.example.com", ".pbx.example.net"]
# No real DNS: every name is answered by the test's resolver.
pytestmark = pytest.mark.usefixtures("resolver")


# --- one reading of a link ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "link",
    [
        "http://vpbx.example.com\\@127.0.0.1/r.wav",  # urlsplit: 127.0.0.1; urllib3: vpbx…
        "http://127.0.0.1\\@vpbx.example.com/r.wav",
        "http://vpbx.example.com@127.0.0.1/r.wav",  # userinfo
        "http://vpbx.example.com:80@127.0.0.1/r.wav",
        "http://user:secret@vpbx.example.com/r.wav",
        "http://a@vpbx.example.com@127.0.0.1/r.wav",
        " http://vpbx.example.com/r.wav",
        "http://vpbx.example.com\t@127.0.0.1/r.wav",
        "http://vpbx.exa\nmple.com/r.wav",
        "http://vpbx.example.com\x00.evil.org/r.wav",
        "http://vpbx.example.com\u00a0/r.wav",  # a non-breaking space
        "http://vpbx.example.com\u200b/r.wav",  # a zero-width space
        "http://%76pbx.example.com/r.wav",  # a percent-encoded host
        "http://vpbx.example.com%2f@127.0.0.1/r.wav",
        "http://\u24e5pbx.example.com/r.wav",  # IDNA 2003 maps the circled v to v; urllib3 not
        "http://vpbx\uff0eexample\uff0ecom/r.wav",  # full-width dots
        "http://vpbx.example.com./r.wav",  # a trailing dot
        "http://vpbx..example.com/r.wav",
        "http://vpbx_1.example.com/r.wav",
        "http://vpbx.example.com:99999/r.wav",
        "http://vpbx.example.com:8080:80/r.wav",
        "http://2130706433/r.wav",  # 127.0.0.1 as one number
        "http://0x7f.1/r.wav",
        "http://0x7f000001/r.wav",
        "http://0177.0.0.1/r.wav",  # octal
        "http://127.1/r.wav",
        "http://127.0.0.1.5/r.wav",
        "http://[fe80::1%25eth0]/r.wav",  # an IPv6 zone id
        "http://[::1]x/r.wav",
        "http:vpbx.example.com/r.wav",
        "http:///vpbx.example.com/r.wav",
    ],
)
def test_links_parsers_could_read_differently_are_refused(link):
    with pytest.raises(RecordingRefused, match="not a valid link"):
        parse_link(link)


@pytest.mark.parametrize(
    ("link", "host", "port", "target"),
    [
        ("HTTPS://VPBX.Example.COM/ui/1.mp3", "vpbx.example.com", 443, "/ui/1.mp3"),
        ("http://vpbx.example.com:8080/r?id=7&k=@x", "vpbx.example.com", 8080, "/r?id=7&k=@x"),
        ("http://vpbx.example.com#@127.0.0.1/", "vpbx.example.com", 80, "/"),
        ("http://vpbx.example.com", "vpbx.example.com", 80, "/"),
        ("http://запись.пример.рф/р.wav", "xn--80ane1al0e.xn--e1afmkfd.xn--p1ai", 80,
         "/%D1%80.wav"),
        ("http://[::FFFF:127.0.0.1]:81/r.wav", "::ffff:7f00:1", 81, "/r.wav"),
        ("http://203.0.113.7/r.wav", "203.0.113.7", 80, "/r.wav"),
    ],
)
def test_a_link_is_read_once_into_what_is_connected_to_and_sent(link, host, port, target):
    parsed = parse_link(link)

    assert (parsed.host, parsed.port, parsed.target) == (host, port, target)


# Around an allowed host: another host, and one or two of the characters URL parsers split
# an authority at differently.
OTHERS = ["", "127.0.0.1", "[::1]", "10.0.0.1", "evil.org", "user:pw", "0x7f.1"]
SEPARATORS = ["", "@", "\\", ":", "#", "?", "/", " ", "\t", "%40", "\uff0e", ".", "80"]


def surroundings() -> Iterator[tuple[str, str]]:
    pairs = [a + b for a, b in itertools.product(SEPARATORS, repeat=2)]
    for other, pair in itertools.product(OTHERS, pairs):
        yield other + pair, ""
        yield "", pair + other
    for other, before, after in itertools.product(OTHERS, SEPARATORS, SEPARATORS):
        yield other + before, after + other


def test_whatever_surrounds_an_allowed_host_every_parser_reads_that_host(resolver):
    resolver.names = {"vpbx.example.com": ["93.184.216.34"]}
    accepted = []
    for before, after in surroundings():
        url = f"http://{before}vpbx.example.com{after}"
        try:
            destination = check_link(url, allowed=["vpbx.example.com"])
        except RecordingRefused:
            continue
        accepted.append(url)
        assert destination.link.host == "vpbx.example.com", url
        assert urlsplit(url).hostname == parse_url(url).host == "vpbx.example.com", url
        assert destination.addresses == (ipaddress.ip_address("93.184.216.34"),)
    assert "http://vpbx.example.com#@127.0.0.1" in accepted  # the check is not refusing all


# --- the allow-list and the addresses -----------------------------------------------------------


@pytest.mark.parametrize(
    "link",
    [
        "http://127.0.0.1/r.wav",
        "http://localhost/r.wav",
        "http://[::1]/r.wav",
        "http://[::ffff:127.0.0.1]/r.wav",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.5/r.wav",
        "http://evil.example.org/r.wav",
        "http://vpbx.example.com.evil.org/r.wav",
        "http://evilpbx.example.net/r.wav",
        "ftp://vpbx.example.com/r.wav",
        "file:///etc/passwd",
    ],
)
def test_check_link_refuses_hosts_not_allowed_without_resolving_them(link, resolver):
    with pytest.raises(RecordingRefused):
        check_link(link, allowed=ALLOWED)
    assert resolver.lookups == []


def test_check_link_allows_listed_names_and_addresses(resolver):
    resolver.names = {"vpbx.example.com": ["93.184.216.34"],
                      "rec1.pbx.example.net": ["2a00:1450:4001::1", "93.184.216.34"]}
    assert check_link("https://VPBX.example.com/1.mp3", allowed=ALLOWED).addresses == (
        ipaddress.ip_address("93.184.216.34"),)
    assert check_link("http://rec1.pbx.example.net/x", allowed=ALLOWED).addresses == (
        ipaddress.ip_address("2a00:1450:4001::1"), ipaddress.ip_address("93.184.216.34"))
    assert check_link("http://[::1]:8001/x.wav", allowed=["::1"]).addresses == (
        ipaddress.ip_address("::1"),)


def test_an_international_name_is_checked_and_resolved_in_its_ascii_form(resolver):
    resolver.names = {"xn--80ane1al0e.xn--90a1at.xn--p1ai": ["93.184.216.34"]}

    destination = check_link("http://запись.пбх.рф/r.wav", allowed=[".пбх.рф"])

    assert destination.link.host == "xn--80ane1al0e.xn--90a1at.xn--p1ai"
    assert resolver.lookups == ["xn--80ane1al0e.xn--90a1at.xn--p1ai"]


@pytest.mark.parametrize(
    "address",
    ["127.0.0.1", "10.0.0.1", "172.16.0.1", "192.168.1.1", "100.64.0.1", "169.254.169.254",
     "0.0.0.0", "198.18.0.1", "192.0.0.8", "224.0.0.1", "255.255.255.255", "::1", "::",
     "fd00::1", "fe80::1", "ff02::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1",
     "64:ff9b::7f00:1", "64:ff9b::a00:1", "2002:7f00:1::1", "2002:a00:1::1", "2001:db8::1",
     "2001::1", "3fff::1", "192.0.2.1", "240.0.0.1"],
)
def test_a_name_resolving_to_a_non_public_address_is_refused(address, resolver):
    resolver.names = {"rec.pbx.example.net": ["8.8.8.8", address]}  # one public is not enough

    with pytest.raises(RecordingRefused, match="non-public address"):
        check_link("https://rec.pbx.example.net/r.wav", allowed=ALLOWED)
    assert resolver.lookups == ["rec.pbx.example.net"]


def test_a_non_public_address_listed_itself_is_allowed(resolver):
    resolver.names = {"office.pbx.example.net": ["10.0.0.7"]}

    with pytest.raises(RecordingRefused):
        check_link("http://office.pbx.example.net/r.wav", allowed=ALLOWED)
    destination = check_link("http://office.pbx.example.net/r.wav", allowed=[*ALLOWED, "10.0.0.7"])
    assert destination.addresses == (ipaddress.ip_address("10.0.0.7"),)
