"""Build the book: a static HTML edition of the executed notebooks (``make book``).

    python tools/book.py [--notebooks build/notebooks] [--out build/book]

Renders the executed notebooks that ``make notebooks`` writes to build/notebooks/ with nbconvert
(its ``lab`` template, extended in tools/book_template/) into one page per notebook with its outputs,
plus a start page (what the suite is, the map of notebooks, the run's profile and timings, the
README's benchmark tables) and the course guide (docs/course.md) when it exists. Every page links to
the previous and next one and to the start page. Figures are embedded and no script comes from the
network, so build/book/index.html opens offline from the file system.
"""

from __future__ import annotations

import argparse
import copy
import json
import re
import sys
from pathlib import Path

import nbformat
from nbconvert import HTMLExporter
from nbformat.v4 import new_markdown_cell, new_notebook

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = Path(__file__).resolve().parent / "book_template"  # extends nbconvert's lab template
WIDGET = "application/vnd.jupyter.widget-view+json"
LINK = re.compile(r"(!?)\[([^\]]*)\]\(([^)\s]+)\)")
WIDGET_NOTE = ('<p class="book-note">Interactive controls: open this notebook in JupyterLab (<code>make lab</code>) '
               "to move them; the figure above is their default view.</p>")


class BookError(RuntimeError):
    """The book cannot be built from what is there (e.g. no executed notebooks)."""


def executed_notebooks(folder: Path) -> list[Path]:
    """The executed NN_topic.ipynb in ``folder``; a clear error when there are none."""
    found = sorted(Path(folder).glob("[0-9][0-9]_*.ipynb"))
    if not found:
        raise BookError(f"no executed notebooks in {folder}: run `make notebooks` first "
                        f"(it writes them there), then `make book`")
    unexecuted = [p.name for p in found if not any(c.get("outputs") for c in nbformat.read(p, 4).cells
                                                   if c.cell_type == "code")]
    if unexecuted:
        raise BookError(f"{folder}: {', '.join(unexecuted)} have no outputs; `make notebooks` executes them")
    return found


def title_of(nb: nbformat.NotebookNode, fallback: str) -> str:
    """The notebook's first Markdown heading, without the '#'s."""
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("#"):
                    return line.lstrip("#").strip()
    return fallback


def local_links(markdown: str, pages: set[str]) -> str:
    """Point links at the book's pages: ``x.ipynb`` -> ``x.html`` when that page exists; relative links
    to files outside the book become plain text (a dead link offline); web and anchor links stay."""
    def fix(m: re.Match) -> str:
        bang, text, target = m.groups()
        if re.match(r"^(https?:|mailto:|#)", target):
            return m.group(0)
        path, _, anchor = target.partition("#")
        if path in pages:
            return m.group(0)
        page = Path(path).stem + ".html"
        if path.endswith((".ipynb", ".md")) and page in pages:
            return f"{bang}[{text}]({page}{'#' + anchor if anchor else ''})"
        return text if not bang else f"`{target}`"
    return LINK.sub(fix, markdown)


def for_the_page(nb: nbformat.NotebookNode, pages: set[str]) -> nbformat.NotebookNode:
    """A copy fit for a static page: widget views become a note (controls need a kernel), progress
    bars (also widgets) go, and Markdown links point at the book's pages."""
    nb = copy.deepcopy(nb)
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cell.source = local_links(cell.source, pages)
            continue
        if cell.cell_type != "code":
            continue
        outputs = []
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            if WIDGET not in data:
                outputs.append(out)
            elif str(data.get("text/plain", "")).startswith(("VBox(", "HBox(")):  # melib.widgets controls
                outputs.append(nbformat.v4.new_output("display_data", data={"text/html": WIDGET_NOTE}))
        cell.outputs = outputs
    return nb


def readme_sections(text: str) -> tuple[str, dict[str, str]]:
    """README.md as (its text before the first '## ', {'## ' heading: section body})."""
    parts = re.split(r"^## (.+)$", text, flags=re.M)
    return parts[0], {parts[i].strip(): parts[i + 1] for i in range(1, len(parts) - 1, 2)}


def start_page(entries: list[dict], course: bool, summary: dict | None, pages: set[str]) -> nbformat.NotebookNode:
    """The start page as a notebook of Markdown cells, built from README.md and the run's summary."""
    intro, sections = readme_sections((ROOT / "README.md").read_text())
    intro = re.sub(r"^# .*\n", "", intro).strip()
    cells = [f"# melib: the executed notebooks\n\n{intro}"]
    run = ""
    if summary:
        p, outcomes = summary.get("parameters", {}), summary.get("outcomes", [])
        total = sum(o.get("seconds", 0.0) for o in outcomes)
        run = (f"\n\nThese pages show one run of the suite: profile `{p.get('PROFILE')}`, data "
               f"`{p.get('DATA')}`, device `{p.get('DEVICE')}`, seed {p.get('SEED')}; "
               f"{sum(o.get('status') == 'ok' for o in outcomes)} of {len(outcomes)} notebooks ran "
               f"without error in {total / 60:.1f} min in all. They are static: run `make lab` to work "
               f"with the notebooks themselves.")
        wall = {o["notebook"]: f"{o['seconds']:.0f} s" if o.get("status") == "ok" else o.get("status", "")
                for o in outcomes}
    else:
        wall = {}
    rows = ["| notebook | title | wall time |", "|---|---|---|"]
    rows += [f"| [{e['stem']}]({e['href']}) | {e['title']} | {wall.get(e['stem'] + '.ipynb', '')} |"
             for e in entries]
    guide = "\n\nThe [course guide](course.html) says how to teach with them." if course else ""
    cells.append("## The notebooks" + run + guide + "\n\n" + "\n".join(rows))
    if "Benchmarks" in sections:
        cells.append("## Benchmarks\n" + sections["Benchmarks"])
    return new_notebook(cells=[new_markdown_cell(local_links(c, pages)) for c in cells],
                        metadata={"title": "melib: the executed notebooks"})


def render(nb: nbformat.NotebookNode, target: Path, book: dict, source_dir: Path) -> None:
    exporter = HTMLExporter(template_name=TEMPLATE.name, extra_template_basedirs=[str(TEMPLATE.parent)], theme="light",
                            embed_images=True)
    resources = {"book": book, "metadata": {"name": book["title"], "path": str(source_dir)}}
    html, _ = exporter.from_notebook_node(nb, resources=resources)
    target.write_text(html, encoding="utf-8")


def build(notebooks: Path, out: Path) -> list[Path]:
    """Write the book's pages into ``out``; returns them (start page first)."""
    found = executed_notebooks(notebooks)
    out.mkdir(parents=True, exist_ok=True)
    course_md = ROOT / "docs" / "course.md"
    loaded = [(p, nbformat.read(p, as_version=4)) for p in found]
    entries = [{"stem": p.stem, "href": p.stem + ".html", "title": title_of(nb, p.stem)} for p, nb in loaded]
    pages = {e["href"] for e in entries} | {"index.html"} | ({"course.html"} if course_md.exists() else set())
    summary_path = Path(notebooks) / "summary.json"
    summary = json.loads(summary_path.read_text()) if summary_path.exists() else None
    home = "melib: contents"
    order = [{"href": "index.html", "title": "contents"}]
    if course_md.exists():
        order.append({"href": "course.html", "title": "course guide"})
    order += [{"href": e["href"], "title": e["stem"]} for e in entries]  # short names in the navigation bar

    def nav(i: int) -> dict:
        return {"title": order[i]["title"], "home": home, "prev": order[i - 1] if i > 0 else None,
                "next": order[i + 1] if i + 1 < len(order) else None}

    written = [out / "index.html"]
    render(start_page(entries, course_md.exists(), summary, pages), written[0], nav(0), ROOT)
    if course_md.exists():
        guide = new_notebook(cells=[new_markdown_cell(local_links(course_md.read_text(), pages))])
        written.append(out / "course.html")
        render(guide, written[-1], nav(1), course_md.parent)
    for (_, nb), entry in zip(loaded, entries):
        written.append(out / entry["href"])
        render(for_the_page(nb, pages), written[-1], nav(len(order) - len(entries) + entries.index(entry)),
               ROOT / "notebooks")
    return written


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python tools/book.py", description=__doc__.splitlines()[0])
    ap.add_argument("--notebooks", default=str(ROOT / "build" / "notebooks"), help="the executed notebooks")
    ap.add_argument("--out", default=str(ROOT / "build" / "book"), help="where the site goes")
    args = ap.parse_args(argv)
    try:
        pages = build(Path(args.notebooks), Path(args.out))
    except BookError as err:
        print(f"make book: {err}", file=sys.stderr)
        return 2
    print(f"book: {len(pages)} pages in {Path(args.out).resolve()}; open {pages[0].resolve()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
