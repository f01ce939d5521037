"""JupyterLab in a real browser (``pytest -m browser``): the widget notebooks run and their controls work.

JupyterLab is started as `make lab` starts it (the same command line, on copies of the notebooks whose
parameters cell says PROFILE = "smoke"), with a free localhost port and a token. Chromium opens each
notebook with widgets, runs all cells, moves every control through the page and checks that the
figure below the controls changed and shows what the control says. Screenshots: build/browser/.
Fails on a kernel error, a widget shown as text, or an error in the browser console.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest
from browser import chromium_page, lab_command, screenshot, skip_reason

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.browser

WIDGET_AS_TEXT = ("Loading widget...", "A Jupyter widget could not be displayed", "Error displaying widget")
PARAMETERS = 'PROFILE = "smoke"\nDATA = "synth"\nDEVICE = "cpu"\nSEED = 0\nOUT = {out!r}\n'


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def smoke_copy(name: str, folder: Path, out: Path) -> Path:
    """notebooks/<name> with its parameters cell (the first code cell) set to the smoke profile."""
    nb = nbformat.read(ROOT / "notebooks" / name, as_version=4)
    cell = next(c for c in nb.cells if c.cell_type == "code")
    assert "parameters" in cell.metadata.get("tags", []), f"{name}: the first code cell is not the parameters cell"
    cell.source = PARAMETERS.format(out=str(out))
    nbformat.write(nb, folder / name)
    return folder / name


@pytest.fixture(scope="module", autouse=True)
def asked_for(request):
    """JupyterLab runs five notebooks here (minutes on 2 cores), so only `pytest -m browser` runs them."""
    if "browser" not in (request.config.getoption("markexpr") or ""):
        pytest.skip("JupyterLab in Chromium takes minutes: run `make test-browser` (pytest -m browser); .ci/run does")


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    reason = skip_reason()
    if reason:
        pytest.skip(reason)
    work = tmp_path_factory.mktemp("lab")
    folder, out = work / "notebooks", work / "build"
    folder.mkdir()
    names = sorted(p.name for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb") if p.name[:2] in CHECKS)
    copies = {name: smoke_copy(name, folder, out).read_bytes() for name in names}
    cmd = [a for a in lab_command() if not a.startswith("--notebook-dir")]
    port, token = free_port(), secrets.token_hex(16)
    cmd[0] = str(ROOT / cmd[0])  # .venv/bin/jupyter
    cmd += [f"--notebook-dir={folder}", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
            f"--IdentityProvider.token={token}", "--LabApp.expose_app_in_browser=True",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(work / "runtime"), "JUPYTERLAB_SETTINGS_DIR": str(work / "settings"),
           "JUPYTERLAB_WORKSPACES_DIR": str(work / "workspaces")}
    env.pop("MELIB_FIGURES", None)  # a hand-run notebook: figures go to OUT/figures
    news = work / "settings" / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    news.parent.mkdir(parents=True)
    news.write_text('{"fetchNews": "false"}')  # no "official Jupyter news?" toast over the page
    log = open(work / "lab.log", "w")
    server = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 90
        while True:
            try:
                with urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2) as r:
                    json.load(r)
                break
            except OSError:
                if server.poll() is not None or time.time() > deadline:
                    pytest.fail(f"JupyterLab did not start: {' '.join(cmd)}\n{(work / 'lab.log').read_text()[-3000:]}")
                time.sleep(0.5)
        yield {"base": base, "token": token, "folder": folder, "out": out, "names": names, "copies": copies}
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


# --- JupyterLab through its application object (window.jupyterapp, exposed by the flag above) ------
CURRENT = "window.jupyterapp.shell.currentWidget"
CLOSE = f"""() => {{
  const w = {CURRENT};
  if (w) {{ w.context.model.dirty = false; w.dispose(); }}
}}"""
STATE = """() => {
  const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  if (!w || !w.sessionContext || !w.content || !w.content.model) return {ready: false};
  const kernel = w.sessionContext.session && w.sessionContext.session.kernel;
  const cells = w.content.model.cells;
  let pending = 0, error = null, firstCode = null;
  for (let i = 0; i < cells.length; i++) {
    const c = cells.get(i);
    if (c.type !== 'code') continue;
    if (firstCode === null) firstCode = {index: i, tags: c.getMetadata('tags') || []};
    if (c.executionCount === null) pending++;
    for (let j = 0; j < c.outputs.length; j++) {
      const o = c.outputs.get(j).toJSON();
      if (o.output_type === 'error' && error === null) error = `cell ${i}: ${o.ename}: ${o.evalue}`;
    }
  }
  return {ready: !!kernel && w.sessionContext.isReady, kernel: kernel ? kernel.name : null,
          status: kernel ? kernel.status : null, pending, error, firstCode};
}"""
IMAGE_STATS = """async (img) => {
  await img.decode();
  const c = document.createElement('canvas');
  c.width = img.naturalWidth; c.height = img.naturalHeight;
  const x = c.getContext('2d');
  x.drawImage(img, 0, 0);
  const d = x.getImageData(0, 0, c.width, c.height).data;
  let s = 0;
  for (let i = 0; i < d.length; i += 4) {
    const mx = Math.max(d[i], d[i + 1], d[i + 2]), mn = Math.min(d[i], d[i + 1], d[i + 2]);
    if (mx > 0) s += (mx - mn) / mx;
  }
  return {saturation: s / (d.length / 4), width: img.naturalWidth, src: img.src.length + ':' + img.src.slice(-64)};
}"""


def stop_kernels(lab: dict) -> None:
    """Shut down every session (and its kernel) through JupyterLab's REST API."""
    def call(method: str, path: str):
        req = urllib.request.Request(f"{lab['base']}{path}?token={lab['token']}", method=method)
        with urllib.request.urlopen(req, timeout=30) as r:
            return json.loads(r.read() or b"null")

    for session in call("GET", "/api/sessions"):
        call("DELETE", f"/api/sessions/{session['id']}")


def open_and_run(page, lab: dict, name: str, errors: list[str]) -> dict:
    """Open a notebook in JupyterLab, run all cells, wait until they ran; fail on a kernel error."""
    if not page.url.startswith(lab["base"]):  # first notebook: load JupyterLab once
        page.goto(f"{lab['base']}/lab?token={lab['token']}")
        page.wait_for_function("() => window.jupyterapp", timeout=60_000)
    page.evaluate(f"""async () => {{
      await window.jupyterapp.restored;  // every plugin (and its commands) active
      await window.jupyterapp.commands.execute('docmanager:open', {{path: {name!r}}});
      return true;
    }}""")
    page.wait_for_function(f"() => window.jupyterapp && {CURRENT} && {CURRENT}.context "
                           f"&& {CURRENT}.context.path === {name!r}", timeout=60_000)  # not another tab
    page.wait_for_function(f"() => ({STATE})().ready && ({STATE})().status === 'idle'", timeout=60_000)
    state = page.evaluate(STATE)
    assert state["kernel"] == "melib", f"{name}: JupyterLab started kernel {state['kernel']!r}, not 'melib'"
    assert "parameters" in state["firstCode"]["tags"], f"{name}: first code cell {state['firstCode']} is not 'parameters'"
    page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
    deadline = time.time() + 600
    while True:
        time.sleep(1.0)
        state = page.evaluate(STATE)
        assert state["error"] is None, f"{name}: kernel error in {state['error']}"
        if state["pending"] == 0 and state["status"] == "idle":
            break
        assert time.time() < deadline, f"{name}: cells still running after 600 s: {state}"
    assert not errors, f"{name}: browser console errors: {errors}"
    return state


def notebook(page):
    """The notebook on screen (JupyterLab may keep others open in the DOM)."""
    node = page.evaluate(f"{CURRENT}.content.node.id")
    return page.locator(f"[id='{node}']")


def assert_widgets_render(page, name: str) -> None:
    page.wait_for_timeout(500)
    text = notebook(page).inner_text()
    for bad in WIDGET_AS_TEXT:
        assert bad not in text, f"{name}: a widget rendered as text ({bad!r})"


def control(page, label: str):
    """The slider or dropdown labelled ``label`` (melib.widgets gives every control a description)."""
    loc = notebook(page).locator(".widget-inline-hbox", has=page.locator(".widget-label", has_text=label))
    assert loc.count() >= 1, f"no control labelled {label!r}"
    return loc.last


def figure_of(page, label: str):
    """The figure melib.widgets draws below the controls when one of them moves."""
    box = notebook(page).locator(".widget-vbox", has=page.locator(".widget-label", has_text=label)).last
    return box.locator(".widget-output img").last


def image_stats(page, label: str, before: str | None = None, timeout: float = 90.0) -> dict:
    """Wait until the figure under the controls exists (and differs from ``before``); its statistics."""
    img = figure_of(page, label)
    deadline = time.time() + timeout
    while True:
        if img.count():
            stats = img.evaluate(IMAGE_STATS)
            if stats["src"] != before:
                return stats
        assert time.time() < deadline, f"the figure under {label!r} did not change within {timeout:.0f} s"
        time.sleep(0.5)


def set_slider(page, label: str, value) -> None:
    readout = control(page, label).locator(".widget-readout")
    readout.scroll_into_view_if_needed()
    readout.click()
    page.keyboard.press("Control+A")
    page.keyboard.type(str(value))
    page.keyboard.press("Enter")


def set_dropdown(page, label: str, value: str) -> None:
    control(page, label).locator("select").select_option(value)


def current(page, label: str) -> str | None:
    img = figure_of(page, label)
    return img.evaluate(IMAGE_STATS)["src"] if img.count() else None


def move(page, label: str, value, kind: str = "slider") -> dict:
    before = current(page, label)
    (set_slider if kind == "slider" else set_dropdown)(page, label, value)
    return image_stats(page, label, before)


def options(page, label: str) -> list[str]:
    return control(page, label).locator("select option").evaluate_all("os => os.map(o => o.value)")


def check_01(page):
    a = move(page, "frame", 3)
    b = move(page, "frame", 0)
    assert a["src"] != b["src"]


def check_02(page):
    # first touch: another estimator at the default frame (the apex) must still show the motion
    methods = options(page, "estimator")
    chosen = control(page, "estimator").locator("select").input_value()
    other = next(m for m in methods if m != chosen)
    apex = move(page, "estimator", other, kind="dropdown")
    onset = move(page, "frames after onset", 0)  # onset -> onset: no motion, a pale flow panel
    back = move(page, "clip", 1)
    assert apex["saturation"] > onset["saturation"] + 0.01, (apex, onset)
    assert back["src"] != onset["src"]


def check_03(page):
    low = move(page, "magnification alpha", 1)
    high = move(page, "magnification alpha", 4)
    assert high["saturation"] > low["saturation"] + 0.01, (low, high)  # colours grow with alpha
    names = options(page, "clip")
    if len(names) > 1:
        move(page, "clip", names[1], kind="dropdown")


def check_05(page):
    a = move(page, "sparsity", 0.8)
    b = move(page, "sparsity", 0.2)
    assert a["src"] != b["src"]


def check_08(page):
    high = move(page, "threshold p", 0.9)
    low = move(page, "threshold p", 0.2)
    assert low["saturation"] > high["saturation"], (high, low)  # a lower threshold: more (green) intervals


CHECKS = {"01": check_01, "02": check_02, "03": check_03, "05": check_05, "08": check_08}


@pytest.fixture(scope="module")
def browser_page():
    errors: list[str] = []
    with chromium_page(errors) as page:
        yield page, errors


@pytest.mark.parametrize("number", sorted(CHECKS))
def test_widget_notebook_runs_and_its_controls_redraw(lab, browser_page, number):
    page, errors = browser_page
    errors.clear()
    name = next(n for n in lab["names"] if n.startswith(number))
    started = time.time()
    try:
        open_and_run(page, lab, name, errors)
        assert_widgets_render(page, name)
        CHECKS[number](page)
        assert not errors, f"{name}: browser console errors: {errors}"
        page.evaluate(f"{CURRENT}.context.save()")
    finally:
        screenshot(page, f"lab_{Path(name).stem}")
        stop_kernels(lab)
        page.evaluate(CLOSE)
    # JupyterLab saved it (tools/lab_config.py strips a suite notebook before writing): byte for byte
    # the notebook as it was before the run, so `git status` stays clean
    saved = lab["folder"] / name
    assert saved.stat().st_mtime > started, f"{name}: JupyterLab did not save it"
    assert saved.read_text() == lab["copies"][name].decode(), f"{name}: JupyterLab's save would show in git status"
    assert (lab["out"] / "figures").is_dir()  # a hand-run notebook's figures go to OUT/figures, not figures/
