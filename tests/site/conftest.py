"""Tests of the site as readers get it: the built book in _build/html.

These tests read what `make book` wrote; they never build it. So under `make test` (which
does not build the book) they run only when `_build/html` exists, and the browser tests
only when Debian's Chromium is installed too; otherwise they are skipped and the end of
the run says so in a banner. `make test-browser` (and `.ci/run`, after `make book`) sets
GRADCOURSE_SITE_TESTS=required, which turns a missing build or browser into an error.

The browser is the system's Chromium (``$GRADCOURSE_CHROMIUM``, default /usr/bin/chromium;
``apt-get install chromium``), driven by Playwright for Python: Playwright's own browser
download cannot run here. The site is served on 127.0.0.1 by Python's http.server, and
every request to any other host is aborted and recorded.
"""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
SITE = Path(os.environ.get("GRADCOURSE_SITE_DIR") or ROOT / "_build" / "html")
REPORT = ROOT / "_build" / "site-report"  # screenshots and axe results, for people
CHROMIUM = Path(os.environ.get("GRADCOURSE_CHROMIUM", "/usr/bin/chromium"))
REQUIRED = os.environ.get("GRADCOURSE_SITE_TESTS") == "required"

# Console errors that are not the book's to fix, each with the reason.
KNOWN_CONSOLE_ERRORS = {
    # pydata-sphinx-theme 0.17.1 on a first visit (nothing in localStorage yet) logs this
    # with console.error, then picks "auto" as it should.
    "Got invalid theme mode: . Resetting to auto.": "theme, first visit",
}

_skipped: Counter[str] = Counter()
_ran: list[str] = []


def site_missing() -> str | None:
    """Why the site tests cannot run, or None."""
    if not (SITE / "index.html").is_file():
        return "no built book in _build/html (run `make book`)"
    return None


def browser_missing() -> str | None:
    """Why the browser tests cannot run, or None."""
    if not CHROMIUM.exists():
        return f"no Chromium at {CHROMIUM} (apt-get install chromium, or set GRADCOURSE_CHROMIUM)"
    if importlib.util.find_spec("playwright") is None:
        return "Playwright for Python is not installed (make setup)"
    return site_missing()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "browser: needs Chromium and the built site")


def pytest_collection_modifyitems(
    config: pytest.Config, items: list[pytest.Item]
) -> None:
    here = Path(__file__).parent
    for item in items:
        if here not in Path(item.path).parents:
            continue
        reason = (
            browser_missing() if item.get_closest_marker("browser") else site_missing()
        )
        if reason is None:
            _ran.append(item.nodeid)
        elif REQUIRED:
            raise pytest.UsageError(f"site tests required but {reason}")
        else:
            _skipped[reason] += 1
            item.add_marker(pytest.mark.skip(reason=reason))


def pytest_terminal_summary(terminalreporter) -> None:  # noqa: ANN001 (pytest's type)
    for reason, n in _skipped.items():
        terminalreporter.write_sep(
            "!",
            f"SKIPPED {n} tests of the built site: {reason}",
            yellow=True,
            bold=True,
        )
    if _skipped:
        terminalreporter.write_line(
            "  They need a built book and Chromium, and `make test` builds neither: "
            "run `make book`, then `make test-browser` (or `make test` again)."
        )
    if _ran and (SITE / "searchindex.js").is_file():  # written anew by every build
        age = (time.time() - (SITE / "searchindex.js").stat().st_mtime) / 60
        terminalreporter.write_line(
            f"Site tests ran against _build/html as built {age:.0f} min ago."
        )


@pytest.fixture(scope="session")
def config() -> dict:
    """The book's _config.yml."""
    return yaml.safe_load((ROOT / "_config.yml").read_text())


@pytest.fixture(scope="session")
def toc_pages() -> list[str]:
    """Every page of the book as its source path without suffix, in reading order."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    return [toc["root"]] + [
        c["file"] for part in toc["parts"] for c in part["chapters"]
    ]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def site_url():
    """_build/html served on a free loopback port for the session."""
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"],
        cwd=SITE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(url + "/index.html", timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        else:
            raise RuntimeError(f"http.server did not answer on {url}")
        yield url
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium under Playwright, headless, for the whole session."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(
            executable_path=str(CHROMIUM),
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield chromium
        chromium.close()


class OfflineContext:
    """A browser context in which only the loopback site answers.

    Every request to another origin is aborted and its URL kept in ``external``; script
    errors, console errors and loopback requests that failed are kept in ``errors``.
    """

    def __init__(self, browser, site_url: str):  # noqa: ANN001 (Playwright's type)
        self.site_url = site_url
        self.external: list[str] = []
        self.errors: list[str] = []
        self.context = browser.new_context(viewport={"width": 1280, "height": 900})
        self.context.route("**/*", self._route)

    def _route(self, route) -> None:  # noqa: ANN001
        url = route.request.url
        if url.startswith(self.site_url + "/"):
            route.continue_()
        else:
            self.external.append(url)
            route.abort()

    def new_page(self):  # noqa: ANN201
        page = self.context.new_page()
        page.on("pageerror", lambda e: self.errors.append(f"page error: {e}"))
        page.on("console", self._console)
        page.on("response", self._response)
        return page

    def _console(self, message) -> None:  # noqa: ANN001
        # A failed load is reported with its URL by _response (or external) instead.
        text = message.text
        if message.type == "error" and not text.startswith("Failed to load resource"):
            if text not in KNOWN_CONSOLE_ERRORS:
                self.errors.append(f"console: {text}")

    def _response(self, response) -> None:  # noqa: ANN001
        # Chromium asks every site for /favicon.ico by itself; the book has no icon.
        if response.status >= 400 and not response.url.endswith("/favicon.ico"):
            self.errors.append(f"HTTP {response.status}: {response.url}")

    def close(self) -> None:
        self.context.close()


@pytest.fixture(scope="session")
def new_offline_context(browser, site_url):
    """Make a fresh offline browser context (the caller closes it)."""
    return lambda: OfflineContext(browser, site_url)


@pytest.fixture
def offline(new_offline_context):
    """A fresh offline browser context for one test."""
    ctx = new_offline_context()
    yield ctx
    ctx.close()
