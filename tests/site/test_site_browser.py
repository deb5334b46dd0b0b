"""The built book in a real browser with no network: Debian's Chromium driven by Playwright.

Each page of the table of contents is opened once (``page_report``) on the loopback server,
with every request to another host aborted and recorded; the tests below then check what
that visit saw: math typeset by MathJax, figures loaded, nothing fetched from elsewhere, no
script errors, and no serious or critical accessibility violation found by axe-core. Other
tests use the search page, open the exercise solutions and the header's menus, and check
that the launch, edit and download buttons point where _config.yml says.

A screenshot of each page and the full axe results go to _build/site-report/.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from urllib.parse import urljoin

import pytest
import yaml

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
REPORT = ROOT / "_build" / "site-report"
TOC = yaml.safe_load((ROOT / "_toc.yml").read_text())
PAGES = [TOC["root"]] + [c["file"] for part in TOC["parts"] for c in part["chapters"]]
CHAPTERS = [p for p in PAGES if (ROOT / f"{p}.ipynb").is_file()]

# axe-core rules whose serious or critical violations we accept, each with the reason it
# cannot be fixed in this book's sources. Keep it short; every entry hides real findings.
AXE_ALLOWED: dict[str, str] = {}

# The API page is 50,000 elements of autodoc output repeating one pattern (axe needs
# minutes for it); axe checks its first module's section, its header and its sidebar.
AXE_CONTEXT: dict[str, dict] = {
    "book/api": {
        "include": [
            ["header"],
            [".bd-sidebar-primary"],
            ['section[id="module-gradcourse.activations"]'],
        ]
    },
}

# What a page must wait for before it is judged: MathJax's first typesetting pass.
_MATHJAX_DONE = """async () => {
  if (!window.MathJax || !MathJax.startup || !MathJax.startup.promise) return false;
  await MathJax.startup.promise;
  return true;
}"""

# Every formula Sphinx wrote (span.math / div.math) and whether MathJax replaced it.
_MATH_STATE = """() => {
  const main = document.querySelector('main') || document.body;
  const math = [...main.querySelectorAll('.math')];
  const raw = [...main.querySelectorAll('p, li, td, dd, div.math, span.math')]
    .filter(e => !e.closest('pre, code, .highlight, mjx-container'))
    .map(e => [...e.childNodes].filter(n => n.nodeType === 3).map(n => n.data).join(''))
    .filter(t => /\\\\\\(|\\\\\\[|\\$\\$/.test(t));
  return {
    total: math.length,
    typeset: math.filter(e => e.querySelector('mjx-container')).length,
    raw: raw.slice(0, 5),
  };
}"""

_TWO_FRAMES = (
    "() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))"
)

# Every opened solution's content has finished fading in.
_SOLUTIONS_OPAQUE = """() => [...document.querySelectorAll(
    'div.solution.dropdown > .admonition-title ~ *')]
  .every(e => getComputedStyle(e).opacity === '1')"""

_IMAGES = """() => [...(document.querySelector('main') || document.body).querySelectorAll('img')]
  .map(i => ({src: i.getAttribute('src'), ok: i.complete && i.naturalWidth > 0}))"""


@dataclass
class PageReport:
    """What one offline visit of a page saw."""

    name: str
    seconds: float = 0.0
    mathjax_loaded: bool = False
    math_total: int = 0
    math_typeset: int = 0
    raw_tex: list[str] = field(default_factory=list)
    images: list[dict] = field(default_factory=list)
    external: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    axe: list[dict] = field(default_factory=list)


def _visit(offline, site_url: str, name: str) -> PageReport:
    from axe_playwright_python.sync_playwright import Axe

    start = time.perf_counter()
    report = PageReport(name)
    page = offline.new_page()
    page.goto(f"{site_url}/{name}.html", wait_until="load")
    try:
        report.mathjax_loaded = bool(page.evaluate(_MATHJAX_DONE))
    except Exception as e:  # noqa: BLE001 (recorded and asserted on below)
        report.errors.append(f"MathJax: {e}")
    math = page.evaluate(_MATH_STATE)
    report.math_total, report.math_typeset, report.raw_tex = (
        math["total"],
        math["typeset"],
        math["raw"],
    )
    report.images = page.evaluate(_IMAGES)
    REPORT.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=REPORT / f"{Path(name).name}.png")
    # Open every solution, so that axe checks them too.
    for title in page.locator("div.solution.dropdown > .admonition-title").all():
        title.click()
    page.evaluate(_TWO_FRAMES)  # let the page's observers see the opened solutions
    # togglebutton fades a solution in (opacity over 0.3 s); axe judges contrast on the
    # colours it sees, so a half-faded solution reads as low contrast on a slow machine.
    page.wait_for_function(_SOLUTIONS_OPAQUE, timeout=10_000)
    # What the page itself requested; axe's own stylesheet fetches come after (axe-core
    # resolves theme.css's @import "../basic.css" against the site root: a 404 of its own).
    report.external, report.errors = (
        list(offline.external),
        report.errors + offline.errors,
    )
    violations = Axe().run(page, context=AXE_CONTEXT.get(name)).response["violations"]
    report.axe = [
        {
            "id": v["id"],
            "impact": v["impact"],
            "help": v["help"],
            "nodes": len(v["nodes"]),
            "targets": [n["target"] for n in v["nodes"][:5]],
        }
        for v in violations
    ]
    report.seconds = round(time.perf_counter() - start, 2)
    return report


@pytest.fixture(scope="module")
def reports(new_offline_context, site_url):
    """Each page's report, made on first use (one visit per page) and saved as JSON."""
    cache: dict[str, PageReport] = {}

    def get(name: str) -> PageReport:
        if name not in cache:
            ctx = new_offline_context()
            try:
                cache[name] = _visit(ctx, site_url, name)
            finally:
                ctx.close()
        return cache[name]

    yield get
    REPORT.mkdir(parents=True, exist_ok=True)
    (REPORT / "pages.json").write_text(
        json.dumps([asdict(r) for r in cache.values()], indent=1) + "\n"
    )


def _png_outputs(chapter: str) -> int:
    nb = json.loads((ROOT / f"{chapter}.ipynb").read_text())
    return sum(
        "image/png" in o.get("data", {})
        for c in nb["cells"]
        if c["cell_type"] == "code"
        for o in c.get("outputs", [])
    )


@pytest.mark.parametrize("name", PAGES)
def test_page_loads_nothing_from_another_host(reports, name):
    report = reports(name)
    assert report.external == []
    assert report.errors == []


@pytest.mark.parametrize("name", PAGES)
def test_math_is_typeset(reports, name):
    report = reports(name)
    assert (
        report.mathjax_loaded or report.math_total == 0
    )  # Sphinx adds it where needed
    assert report.math_typeset == report.math_total
    assert report.raw_tex == []
    if name in CHAPTERS:
        assert report.math_total > 0


@pytest.mark.parametrize("name", PAGES)
def test_figures_load(reports, name):
    report = reports(name)
    broken = [i["src"] for i in report.images if not i["ok"]]
    assert broken == []
    if name in CHAPTERS:
        assert len(report.images) >= _png_outputs(name) > 0


@pytest.mark.parametrize("name", PAGES)
def test_no_serious_accessibility_violation(reports, name):
    report = reports(name)
    serious = [
        v
        for v in report.axe
        if v["impact"] in ("serious", "critical") and v["id"] not in AXE_ALLOWED
    ]
    assert serious == []


def test_search_finds_a_chapter(offline, site_url):
    page = offline.new_page()
    page.goto(f"{site_url}/search.html?q=residual")
    page.wait_for_selector("ul.search li a", timeout=20_000)
    hrefs = page.eval_on_selector_all("ul.search li a", "as => as.map(a => a.href)")
    assert any("book/residual_connections.html" in h for h in hrefs), hrefs
    assert offline.external == []


@pytest.mark.parametrize("name", CHAPTERS)
def test_solution_dropdowns_open(offline, site_url, name):
    page = offline.new_page()
    page.goto(f"{site_url}/{name}.html")
    solutions = page.locator("div.solution.dropdown")
    assert solutions.count() >= 3
    for i in range(solutions.count()):
        solution = solutions.nth(i)
        body = solution.locator("section").first
        assert body.is_hidden(), f"solution {i} is open before a click"
        solution.locator(".admonition-title").click()
        body.wait_for(state="visible", timeout=5_000)
    assert offline.external == []


def _expected_links(config: dict, chapter: str) -> dict[str, str]:
    repo = config["repository"]["url"].rstrip("/")
    branch = config["repository"]["branch"]
    owner_name = repo.split("github.com/")[1]
    path = f"{chapter}.ipynb"
    colab = config["launch_buttons"]["colab_url"].rstrip("/")
    binder = config["launch_buttons"]["binderhub_url"].rstrip("/")
    return {
        "Launch on Colab": f"{colab}/github/{owner_name}/blob/{branch}/{path}",
        "Launch on Binder": f"{binder}/v2/gh/{owner_name}/{branch}?urlpath=lab/tree/{path}",
        "Source repository": repo,
        "Suggest edit": f"{repo}/edit/{branch}/{path}",
    }


def _button(page, title: str):  # noqa: ANN001, ANN202 (Playwright's types)
    # Bootstrap's tooltips move a button's title into data-bs-original-title.
    return page.locator(
        f'a[title="{title}"], a[data-bs-original-title="{title}"]'
    ).first


@pytest.mark.parametrize("name", CHAPTERS)
def test_launch_edit_and_download_buttons(offline, site_url, config, name):
    page = offline.new_page()
    page.goto(f"{site_url}/{name}.html")
    for title, href in _expected_links(config, name).items():
        assert _button(page, title).get_attribute("href") == href, title
    # The launch menu opens and shows the Colab button.
    page.click(".dropdown-launch-buttons button")
    _button(page, "Launch on Colab").wait_for(state="visible", timeout=5_000)
    # The download button serves this chapter's notebook, as committed.
    download = _button(page, "Download source file").get_attribute("href")
    response = page.request.get(urljoin(page.url, download))
    assert response.ok
    assert response.body() == (ROOT / f"{name}.ipynb").read_bytes()
    assert offline.external == []
