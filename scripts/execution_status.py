"""Local Sphinx extension: the execution-status page, made from this build's execution data.

``{execution-status}`` in a page becomes two tables when the book is written:

1. every chapter notebook in table-of-contents order, with how myst-nb ran it, its run
   time and whether it passed, read from the execution data myst-nb records while it
   executes each notebook (``NbMetadataCollector.get_exec_data``: ``runtime``,
   ``succeeded``, ``method``, ``error``); a chapter this build did not execute (execution
   off, a partial build) says so instead of showing a stale number;
2. the environment that executed them: Python, jax and jaxlib versions, JAX's backend,
   the platform and the CPU count. The kernels myst-nb starts run this same Python
   (jupyter_client launches the ``python3`` kernel with ``sys.executable``) with this
   process's environment, so these are the versions the chapters ran under.

Like myst-nb's own ``{nb-exec-table}``, the directive leaves a placeholder that a post-
transform fills once every document has been read (and so executed), and the page is
written again whenever a notebook is re-executed.
"""

from __future__ import annotations

import datetime
import os
import platform
from importlib import metadata
from typing import Any

from docutils import nodes
from myst_nb.sphinx_ import NbMetadataCollector
from sphinx.addnodes import pending_xref
from sphinx.transforms.post_transforms import SphinxPostTransform
from sphinx.util.docutils import SphinxDirective

# myst-nb re-writes the documents that carry this flag whenever a notebook is re-executed.
_MYST_NB_TABLE_FLAG = "has_exec_table"


class execution_status_node(nodes.General, nodes.Element):  # noqa: N801 (docutils style)
    """Placeholder for the tables, replaced once every notebook has executed."""


class ExecutionStatus(SphinxDirective):
    """``{execution-status}``: the chapters' execution table and the environment table."""

    has_content = False

    def run(self) -> list[nodes.Node]:
        NbMetadataCollector.set_doc_data(
            self.env, self.env.docname, _MYST_NB_TABLE_FLAG, True
        )
        return [execution_status_node()]


def _toc_order(env: Any, root: str) -> list[str]:
    """Every document reachable from ``root`` through the toctrees, in reading order."""
    order: list[str] = []
    stack = [root]
    while stack:
        doc = stack.pop()
        if doc in order:
            continue
        order.append(doc)
        stack.extend(reversed(env.toctree_includes.get(doc, [])))
    return order


def _table(header: list[str], rows: list[list[nodes.Node]]) -> nodes.table:
    table = nodes.table(classes=["colwidths-auto"])
    group = nodes.tgroup(cols=len(header))
    table += group
    group += [nodes.colspec(colwidth=1) for _ in header]
    head = nodes.thead()
    head += nodes.row("", *[nodes.entry("", nodes.paragraph(text=h)) for h in header])
    body = nodes.tbody()
    for cells in rows:
        body += nodes.row(
            "", *[nodes.entry("", nodes.paragraph("", "", c)) for c in cells]
        )
    group += [head, body]
    return table


def _chapter_rows(env: Any, here: str) -> list[list[nodes.Node]]:
    rows = []
    total = 0.0
    for doc in _toc_order(env, env.config.root_doc):
        if not str(env.doc2path(doc)).endswith(".ipynb"):
            continue
        link = pending_xref(
            "",
            nodes.inline(text=env.titles[doc].astext()),
            refdoc=here,
            reftarget="/" + doc,
            reftype="doc",
            refdomain="std",
            refexplicit=True,
            refwarn=True,
        )
        data = NbMetadataCollector.get_exec_data(env, doc)
        if not data:
            cells = ["not executed in this build", "-", "-"]
        else:
            total += data["runtime"] or 0.0
            runtime = "-" if data["runtime"] is None else f"{data['runtime']:.1f}"
            status = "pass" if data["succeeded"] else f"FAIL: {data.get('error') or ''}"
            cells = [str(data["method"]), runtime, status]
        rows.append([link, *[nodes.Text(c) for c in cells]])
    total_row = [
        nodes.strong(text="all chapters"),
        nodes.Text(""),
        nodes.Text(f"{total:.1f}"),
    ]
    return [*rows, [*total_row, nodes.Text("")]]


def _environment_rows() -> list[list[nodes.Node]]:
    import jax  # the package under the chapters; imported here only for its backend

    facts = {
        "Python": platform.python_version(),
        "jax": metadata.version("jax"),
        "jaxlib": metadata.version("jaxlib"),
        "JAX backend": jax.default_backend(),
        "platform": platform.platform(),
        "CPU cores": str(os.cpu_count()),
        "built (UTC)": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M"),
    }
    return [[nodes.Text(k), nodes.literal(text=v)] for k, v in facts.items()]


class ExecutionStatusTransform(SphinxPostTransform):
    """Fill the placeholder: runs after every document (and notebook) has been read."""

    default_priority = 8  # before the reference resolvers turn the links into hrefs

    def run(self, **kwargs: Any) -> None:
        for node in list(self.document.findall(execution_status_node)):
            here = self.env.docname
            chapters = _table(
                ["Chapter", "Executed", "Run time (s)", "Status"],
                _chapter_rows(self.env, here),
            )
            chapters["ids"] = ["execution-status-chapters"]
            environment = _table(["Environment", "Version"], _environment_rows())
            environment["ids"] = ["execution-status-environment"]
            node.replace_self([chapters, environment])


def setup(app: Any) -> dict[str, bool]:
    app.add_node(execution_status_node)
    app.add_directive("execution-status", ExecutionStatus)
    app.add_post_transform(ExecutionStatusTransform)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
