"""Local Sphinx extension: two repairs to what the toolchain writes into every page.

1. No sphinx-thebe scripts while thebe is off. Jupyter Book 1 always loads sphinx-thebe,
   which adds two scripts to every page whatever ``launch_buttons.thebe`` says: an inline
   configuration naming thebe's bundle on unpkg.com, and ``sphinx-thebe.js``, which
   fetches that bundle when a reader presses the (absent) live-code button. The inline
   one is added twice, so every page also threw "Identifier 'THEBE_JS_URL' has already
   been declared". With thebe off neither can do anything but harm: both are dropped.
2. Bibliography entries are list items. docutils writes the bibliography as a
   ``role="list"`` whose children have ``role="doc-biblioentry"``, a role that
   DPUB-ARIA 1.1 deprecated and that may not sit in a list, so screen readers are told of
   an empty list (axe: aria-required-children, critical). The entries become
   ``role="listitem"``.

Both act on one page's context as it is written (``html-page-context``).
"""

from __future__ import annotations

from typing import Any


def _is_thebe(script: Any) -> bool:
    body = script.attributes.get("body", "") if hasattr(script, "attributes") else ""
    return (
        str(script.filename or "").endswith("sphinx-thebe.js") or "THEBE_JS_URL" in body
    )


def _fix_page(
    app: Any, pagename: str, templatename: str, context: dict, doctree: Any
) -> None:
    scripts = context.get("script_files")
    thebe_on = app.config.html_theme_options.get("launch_buttons", {}).get("thebe")
    if scripts and not thebe_on:
        # The builder restores its own list after each page; edit this page's in place.
        scripts[:] = [s for s in scripts if not _is_thebe(s)]
    if "body" in context:
        context["body"] = context["body"].replace(
            'role="doc-biblioentry"', 'role="listitem"'
        )


def setup(app: Any) -> dict[str, bool]:
    app.connect("html-page-context", _fix_page)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
