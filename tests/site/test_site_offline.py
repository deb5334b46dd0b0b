"""The built site is complete offline, read as files (no browser): _build/html after `make book`.

A page may link to other sites (a reader clicks), but nothing a browser loads by itself
while showing a page (scripts, stylesheets, <link> elements, images, frames, CSS imports
and fonts) may come from another host: the site must work from a USB stick.
"""

from __future__ import annotations

import os
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SITE = Path(os.environ.get("GRADCOURSE_SITE_DIR") or ROOT / "_build" / "html")

# Attributes whose URL a browser fetches when it renders the element.
_FETCHED = {
    "script": ("src",),
    "link": ("href",),
    "img": ("src", "srcset"),
    "iframe": ("src",),
    "frame": ("src",),
    "source": ("src", "srcset"),
    "video": ("src", "poster"),
    "audio": ("src",),
    "track": ("src",),
    "embed": ("src",),
    "object": ("data",),
    "input": ("src",),
}
_REMOTE = re.compile(
    r"^\s*(?:[a-z][a-z0-9+.-]*:)?//", re.I
)  # http://, https://, //host
_CSS_URL = re.compile(r"""(?:@import\s+|url\()\s*['"]?([^'")\s]+)""", re.I)


class _Fetched(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.remote: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._in_style = tag == "style"
        for name, value in attrs:
            if not value:
                continue
            if name in _FETCHED.get(tag, ()):
                urls = (
                    [u.split()[0] for u in value.split(",")]
                    if "srcset" in name
                    else [value]
                )
                self.remote += [f"<{tag} {name}={u}>" for u in urls if _REMOTE.match(u)]
            if name == "style":
                self.remote += [f"style url({u})" for u in _css_remote(value)]

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.remote += [f"<style> url({u})" for u in _css_remote(data)]

    def handle_endtag(self, tag: str) -> None:
        self._in_style = False


def _css_remote(css: str) -> list[str]:
    return [u for u in _CSS_URL.findall(css) if _REMOTE.match(u)]


def _pages() -> list[Path]:
    return sorted(SITE.rglob("*.html")) if SITE.is_dir() else []


def test_site_has_the_books_pages():
    pages = _pages()
    assert len(pages) >= 15, [p.name for p in pages]
    assert (SITE / "book" / "status.html").is_file()


@pytest.mark.parametrize("page", _pages(), ids=lambda p: str(p.relative_to(SITE)))
def test_page_fetches_nothing_from_another_host(page):
    parser = _Fetched()
    parser.feed(page.read_text(encoding="utf-8"))
    assert parser.remote == []


def test_stylesheets_fetch_nothing_from_another_host():
    remote = {
        str(css.relative_to(SITE)): _css_remote(
            css.read_text(encoding="utf-8", errors="replace")
        )
        for css in SITE.rglob("*.css")
    }
    assert {k: v for k, v in remote.items() if v} == {}


def test_mathjax_is_served_from_the_site():
    chapter = (SITE / "book" / "sigmoid.html").read_text(encoding="utf-8")
    src = re.search(r'<script[^>]*src="([^"]*mathjax[^"]*)"', chapter)
    assert src, "no MathJax script on a chapter page"
    assert not _REMOTE.match(src.group(1))
    assert (SITE / "book" / src.group(1)).resolve().is_file()
    # MathJax loads its fonts and extensions relative to its own script.
    assert any(
        (SITE / "_static" / "mathjax" / "output" / "chtml" / "fonts").rglob("*.woff")
    )


def test_status_page_lists_every_chapter_with_its_run_time(toc_pages):
    html = (SITE / "book" / "status.html").read_text(encoding="utf-8")
    table = html[html.index('id="execution-status-chapters"') :]
    table = table[: table.index("</table>")]
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", table, re.S)[1:]  # after the header
    cells = [
        [
            re.sub(r"<[^>]+>", "", c).strip()
            for c in re.findall(r"<td>(.*?)</td>", r, re.S)
        ]
        for r in rows
    ]
    links = re.findall(r'href="([^"#]+)\.html"', table)
    chapters = [p for p in toc_pages if (ROOT / f"{p}.ipynb").is_file()]
    assert links == [Path(p).name for p in chapters]
    *per_chapter, total = cells
    for (_title, method, runtime, status), name in zip(
        per_chapter, chapters, strict=True
    ):
        assert status == "pass", (name, method, status)
        assert float(runtime) > 0, (name, runtime)
    assert total[0] == "all chapters"
    # Each row is rounded to 0.1 s, the total is the rounded sum of the unrounded times.
    assert abs(float(total[2]) - sum(float(c[2]) for c in per_chapter)) <= 0.1 * len(
        chapters
    )


def test_status_page_names_the_versions_it_ran_with():
    from importlib import metadata

    html = (SITE / "book" / "status.html").read_text(encoding="utf-8")
    table = html[html.index('id="execution-status-environment"') :]
    table = re.sub(r"<[^>]+>", " ", table[: table.index("</table>")])
    for package in ("jax", "jaxlib"):
        assert re.search(
            rf"\b{package}\s+{re.escape(metadata.version(package))}\b", table
        )
    for fact in ("Python", "JAX backend", "platform"):
        assert fact in table
