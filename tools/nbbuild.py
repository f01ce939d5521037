"""Convert between a percent-format script and a notebook stored without outputs.

    python tools/nbbuild.py to-ipynb draft.py notebooks/NN_topic.ipynb
    python tools/nbbuild.py to-py notebooks/NN_topic.ipynb draft.py
    python tools/nbbuild.py strip notebooks/*.ipynb

Percent format: a line ``# %%`` starts a code cell, ``# %% [markdown]`` a Markdown cell (its lines
lose their leading ``# ``), and ``# %% tags=["parameters"]`` a tagged code cell. The .ipynb in
notebooks/ is the source of truth; scripts are a convenience for writing it.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import nbformat

KERNELSPEC = {"name": "melib", "display_name": "Python (melib)", "language": "python"}
_HEADER = re.compile(r"^# %%(?P<md> \[markdown\])?(?: tags=(?P<tags>\[.*\]))?\s*$")


def script_to_notebook(text: str) -> nbformat.NotebookNode:
    cells, kind, tags, lines = [], None, [], []

    def flush():
        if kind is None:
            return
        body = "\n".join(lines).strip("\n")
        if kind == "markdown":
            body = "\n".join(re.sub(r"^# ?", "", ln) for ln in body.splitlines())
            cell = nbformat.v4.new_markdown_cell(body)
        else:
            cell = nbformat.v4.new_code_cell(body)
        if tags:
            cell.metadata["tags"] = tags
        cells.append(cell)

    for line in text.splitlines():
        m = _HEADER.match(line)
        if m:
            flush()
            kind = "markdown" if m.group("md") else "code"
            tags = json.loads(m.group("tags")) if m.group("tags") else []
            lines = []
        elif kind is not None:
            lines.append(line)
    flush()
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = KERNELSPEC
    nb.metadata["language_info"] = {"name": "python"}
    return strip(nb)


def notebook_to_script(nb: nbformat.NotebookNode) -> str:
    parts = []
    for cell in nb.cells:
        tags = cell.metadata.get("tags", [])
        suffix = f" tags={json.dumps(tags)}" if tags else ""
        if cell.cell_type == "markdown":
            body = "\n".join(("# " + ln).rstrip() for ln in cell.source.splitlines())
            parts.append(f"# %% [markdown]{suffix}\n{body}")
        else:
            parts.append(f"# %%{suffix}\n{cell.source}")
    return "\n\n".join(parts) + "\n"


def strip(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Remove outputs, execution counts and per-run metadata (papermill's, timing)."""
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"cell-{i:02d}"
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        for key in ("papermill", "execution", "collapsed", "scrolled"):
            cell.metadata.pop(key, None)
    nb.metadata.pop("papermill", None)
    nb.nbformat, nb.nbformat_minor = 4, 5
    return nb


def main(argv: list[str]) -> int:
    if len(argv) >= 3 and argv[0] == "to-ipynb":
        nb = script_to_notebook(Path(argv[1]).read_text())
        nbformat.validate(nb)
        nbformat.write(nb, argv[2])
    elif len(argv) >= 3 and argv[0] == "to-py":
        Path(argv[2]).write_text(notebook_to_script(nbformat.read(argv[1], as_version=4)))
    elif len(argv) >= 2 and argv[0] == "strip":
        for path in argv[1:]:
            nbformat.write(strip(nbformat.read(path, as_version=4)), path)
    else:
        print(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
