"""Shared by the real-browser tests (``pytest -m browser``): the system's Chromium driven by Playwright.

Playwright never downloads a browser here: it is pointed at Debian's ``chromium`` package
(``apt-get install chromium``; .ci/run installs it). Without one the tests skip and say so.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHOTS = ROOT / "build" / "browser"  # screenshots, for a human to look at after a run
CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def lab_command() -> list[str]:
    """The `jupyter lab` command line `make lab` runs, as make expands it (without rebuilding .venv)."""
    out = subprocess.run(["make", "-n", "-o", ".venv/.melib-installed", "lab"], cwd=ROOT, capture_output=True,
                         text=True, check=True).stdout
    return shlex.split(next(ln for ln in out.splitlines() if "jupyter lab" in ln))


def git_clean_filter() -> str:
    """The nbstripout command `make lab` makes git's clean filter (Makefile: NBSTRIPOUT), for this venv."""
    out = subprocess.run(["make", "-n", "-o", ".venv/.melib-installed", "lab-filter"], cwd=ROOT, capture_output=True,
                         text=True, check=True).stdout
    line = next(ln for ln in out.splitlines() if "filter.nbstripout.clean" in ln)
    command = line.split("filter.nbstripout.clean", 1)[1].strip().rstrip("&\\ ").strip()
    assert command[0] == command[-1] == "'", line
    return command[1:-1]


def chromium_executable() -> str | None:
    """$CHROMIUM if set, else the first Chromium on PATH (Debian: /usr/bin/chromium)."""
    if os.environ.get("CHROMIUM"):
        return os.environ["CHROMIUM"]
    return next((shutil.which(name) for name in CANDIDATES if shutil.which(name)), None)


def skip_reason() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "browser tests need Playwright for Python (pip install playwright; it is in requirements.lock)"
    if chromium_executable() is None:
        return ("browser tests need the system's Chromium: apt-get install chromium (or set CHROMIUM=/path); "
                ".ci/run installs it")
    return None


@contextmanager
def chromium_page(errors: list[str]):
    """A fresh headless Chromium page; console errors, page errors and failed requests go to ``errors``."""
    reason = skip_reason()
    if reason:
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_executable(), args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("console", lambda m: errors.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(f"page error: {e}"))
            page.on("requestfailed", lambda r: errors.append(f"request failed: {r.url} ({r.failure})"))
            yield page
        finally:
            browser.close()


def screenshot(page, name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=False)
    return path
