"""The book (``make book``, tools/book.py): a static site of executed notebooks, checked in Chromium.

The book is built from notebook 05 executed here in the smoke profile (text, tables, figures, equations
and a widget), so the test needs no teach run. MELIB_BOOK_NOTEBOOKS=<folder of
executed notebooks> checks the book of a whole run instead (e.g. build/notebooks after
`make notebooks`, or a `python -m melib.run --profile smoke --out X` run's X/notebooks).
"""

import importlib.util
import os
from pathlib import Path
from urllib.parse import unquote, urlparse

import nbformat
import pytest
from browser import chromium_page, screenshot

from melib.run import NOTEBOOKS, run_notebook

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("book", ROOT / "tools" / "book.py")
book = importlib.util.module_from_spec(spec)
spec.loader.exec_module(book)


def test_without_executed_notebooks_it_says_run_make_notebooks(tmp_path, capsys):
    assert book.main(["--notebooks", str(tmp_path / "none"), "--out", str(tmp_path / "book")]) == 2
    assert "run `make notebooks` first" in capsys.readouterr().err
    (tmp_path / "nb").mkdir()
    (tmp_path / "nb" / "00_overview.ipynb").write_text((NOTEBOOKS / "00_overview.ipynb").read_text())
    assert book.main(["--notebooks", str(tmp_path / "nb"), "--out", str(tmp_path / "book")]) == 2
    assert "00_overview.ipynb have no outputs" in capsys.readouterr().err


def test_links_point_at_the_book():
    pages = {"03_magnification.html", "index.html"}
    md = ("see [03](../notebooks/03_magnification.ipynb#Checks), [arch](../docs/architecture.md), "
          "[paper](https://arxiv.org/abs/1) and [top](#top)")
    assert book.local_links(md, pages) == ("see [03](03_magnification.html#Checks), arch, "
                                           "[paper](https://arxiv.org/abs/1) and [top](#top)")


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    if os.environ.get("MELIB_BOOK_NOTEBOOKS"):
        return Path(os.environ["MELIB_BOOK_NOTEBOOKS"])
    out = tmp_path_factory.mktemp("book_run")
    params = {"PROFILE": "smoke", "DATA": "synth", "DEVICE": "cpu", "SEED": 0, "OUT": str(out)}
    outcome = run_notebook(NOTEBOOKS / "05_sparse_ssd.ipynb", out / "notebooks", params)
    assert outcome.status == "ok", outcome.error
    return out / "notebooks"


@pytest.fixture(scope="module")
def site(executed, tmp_path_factory):
    out = tmp_path_factory.mktemp("book")
    pages = book.build(executed, out)
    return out, pages


def test_the_book_has_a_start_page_and_one_page_per_notebook(site, executed):
    out, pages = site
    stems = sorted(p.stem for p in executed.glob("[0-9][0-9]_*.ipynb"))
    assert pages[0] == out / "index.html"
    assert sorted(p.stem for p in pages if p.stem[:2].isdigit()) == stems
    start = (out / "index.html").read_text()
    for stem in stems:
        assert f'href="{stem}.html"' in start  # the map of notebooks
    assert "Benchmarks" in start and "<table" in start  # README's benchmark tables
    if (ROOT / "docs" / "course.md").exists():
        assert (out / "course.html").exists() and 'href="course.html"' in start
    html = "".join(p.read_text() for p in pages)
    assert "cdnjs" not in html and "unpkg" not in html and "require.js" not in html  # nothing from the network


@pytest.mark.browser
def test_every_page_opens_offline_with_its_images_and_links(site, executed):
    out, pages = site
    figures = {p.stem: sum("image/png" in o.get("data", {}) for c in nbformat.read(p, as_version=4).cells
                           for o in c.get("outputs", [])) for p in executed.glob("[0-9][0-9]_*.ipynb")}
    errors: list[str] = []
    with chromium_page(errors) as page:
        for path in pages:
            page.goto(path.as_uri())
            page.wait_for_load_state("load")
            images = page.eval_on_selector_all("img", "els => els.map(e => [e.currentSrc.slice(0, 60), e.complete, e.naturalWidth])")
            broken = [src for src, complete, width in images if not complete or width == 0]
            assert not broken, f"{path.name}: images that did not load: {broken}"
            links = page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)")
            ids = set(page.eval_on_selector_all("[id]", "els => els.map(e => e.id)"))
            for href in links:
                url = urlparse(href)
                if url.scheme != "file":
                    continue  # web links (arXiv, ...) are not the book's
                target = Path(unquote(url.path))
                assert target.exists(), f"{path.name}: link to a missing page {href}"
                if url.fragment and target == path:
                    # a browser looks the fragment up decoded, then as written (nbconvert writes ids %-encoded)
                    assert {unquote(url.fragment), url.fragment} & ids, f"{path.name}: no anchor #{url.fragment}"
            nav = page.locator("nav.book-nav").first
            assert nav.locator("a.book-home").count() == 1, f"{path.name}: no navigation bar"
            if path.stem in figures:  # every figure of the executed notebook is on its page
                assert len(images) >= figures[path.stem], f"{path.name}: {len(images)} images, {figures[path.stem]} figures"
            if path.name == "index.html":
                screenshot(page, "book_start_page")
            elif path.stem.startswith("05"):
                screenshot(page, "book_notebook_page")
    assert not errors, errors
