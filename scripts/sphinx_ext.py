"""Local Sphinx extension for the API page (loaded through _config.yml local_extensions).

autodoc documents every NamedTuple field twice: once from the class docstring's Attributes
section and once as a generated property whose docstring is "Alias for field number N".
This skips the generated ones, so the API page has no duplicate entries (and no warnings).
"""

from __future__ import annotations

from typing import Any


def _skip_namedtuple_aliases(
    app: Any, what: str, name: str, obj: Any, skip: bool, options: Any
) -> bool | None:
    doc = getattr(obj, "__doc__", None) or ""
    if doc.startswith("Alias for field number"):
        return True
    return None


def setup(app: Any) -> dict[str, bool]:
    app.connect("autodoc-skip-member", _skip_namedtuple_aliases)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
