"""Build a few chapters quickly, as `make book` would, without executing them again.

    .venv/bin/python scripts/build_chapters.py book/sigmoid.ipynb [book/tanh.ipynb ...]

Writes a temporary config (same as _config.yml but `execute_notebooks: "off"`, so the stored
outputs are rendered) and a table of contents with the intro, the given chapters and the
bibliography, then runs `jupyter-book build` with -W -n --keep-going into
/tmp/gradcourse-build/<first chapter name>/_build/html. For checking one chapter's markup
while other chapters are still being written; `make book` is the real build.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def main(chapters: list[str]) -> int:
    if not chapters:
        print(__doc__)
        return 2
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    config["execute"]["execute_notebooks"] = "off"
    # The temporary config lives elsewhere: make local extension paths absolute.
    local = config["sphinx"].get("local_extensions") or {}
    config["sphinx"]["local_extensions"] = {k: str(ROOT / v) for k, v in local.items()}
    toc = {
        "format": "jb-book",
        "root": "book/intro",
        "chapters": [{"file": str(Path(c).with_suffix(""))} for c in chapters]
        + [{"file": "book/bibliography"}],
    }
    out = Path(tempfile.gettempdir()) / "gradcourse-build" / Path(chapters[0]).stem
    with tempfile.TemporaryDirectory() as tmp:
        cfg, tocf = Path(tmp) / "_config.yml", Path(tmp) / "_toc.yml"
        cfg.write_text(yaml.safe_dump(config))
        tocf.write_text(yaml.safe_dump(toc))
        cmd = [
            str(ROOT / ".venv/bin/jupyter-book"),
            "build",
            str(ROOT),
            "--all",
            "-W",
            "-n",
            "--keep-going",
            "--config",
            str(cfg),
            "--toc",
            str(tocf),
            "--path-output",
            str(out),
        ]
        rc = subprocess.call(cmd, cwd=ROOT)
    print(f"\nrc={rc}; HTML in {out}/_build/html")
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
