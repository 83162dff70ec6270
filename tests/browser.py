"""Browser tests: Debian's chromium driven by Playwright's sync API (no browser download).

While a browser is open, Playwright runs an event loop in the test's thread, so Django's ORM
(which refuses to run beside one) is used only before `launched` and after it closes.
"""
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

# As root on a closed network chromium needs these (see docs/development.md, "Tests").
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


def find_chromium() -> str | None:
    """CHROMIUM if set, else Debian's chromium (or a Chrome) on the PATH."""
    candidates = [os.environ.get("CHROMIUM", ""), "/usr/bin/chromium"]
    candidates += [shutil.which(n) or "" for n in ("chromium", "chromium-browser", "google-chrome")]
    return next((c for c in candidates if c and Path(c).is_file()), None)


@contextmanager
def launched(executable: str) -> Iterator["object"]:
    """A headless chromium, closed at the end of the block."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def log_in(page, base_url: str, username: str, password: str) -> None:  # noqa: ANN001
    """Log in through the admin's login form, as a person would."""
    page.goto(f"{base_url}/admin/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("input[type=submit]")
