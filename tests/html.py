"""Reading the HTML of a page in tests: its tags with their attributes."""
from html.parser import HTMLParser


class Tags(HTMLParser):
    """Every start tag of a page with its attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {name: value or "" for name, value in attrs}))


def all_tags(response) -> list[tuple[str, dict[str, str]]]:  # noqa: ANN001
    """Every start tag of a test client's response, in order."""
    parser = Tags()
    parser.feed(response.content.decode())
    return parser.tags


def tags(response, name: str) -> list[dict[str, str]]:  # noqa: ANN001
    """The attributes of every `name` tag of the response."""
    return [attrs for tag, attrs in all_tags(response) if tag == name]


def link_targets(response) -> list[str]:  # noqa: ANN001
    """Every URL the page would follow or load: href, src, action, formaction."""
    return [
        value for _, attrs in all_tags(response) for name, value in attrs.items()
        if name in ("href", "src", "action", "formaction")
    ]
