"""Headless notebook runner: the engine behind ``make notebooks`` and the notebook smoke tests.

    python -m melib.run --profile teach --data synth --out build [--only 03 --only 04] [--fail-fast]

Runs ``notebooks/NN_*.ipynb`` in order with papermill, injecting PROFILE/DATA/DEVICE/SEED/OUT into
each notebook's ``parameters`` cell, writes the executed copies to ``OUT/notebooks/``, prints a table of
notebook, status and wall time, and exits non-zero when a notebook fails, naming the notebook, the
failing cell and the error.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

from melib.params import DEVICE_NAMES, EXECUTOR_NAMES, FIGURES_ENV, PROFILE_NAMES, REPO_ROOT

NOTEBOOKS = REPO_ROOT / "notebooks"
KERNEL = "melib"  # registered by `make` (ipykernel install --sys-prefix --name melib)


@dataclass
class Outcome:
    notebook: str
    status: str  # "ok" | "failed"
    seconds: float
    error: str = ""  # "cell N: ErrorName: message" when failed


def find_notebooks(folder: Path = NOTEBOOKS, only: list[str] | None = None) -> list[Path]:
    """Notebooks named NN_topic.ipynb in teaching order; ``only`` keeps those whose NN is listed."""
    found = sorted(p for p in Path(folder).glob("[0-9][0-9]_*.ipynb"))
    if only:
        wanted = {o.zfill(2) for item in only for o in str(item).split(",") if o}
        found = [p for p in found if p.name[:2] in wanted]
        missing = wanted - {p.name[:2] for p in found}
        if missing:
            raise SystemExit(f"--only {sorted(missing)}: no notebook with that number in {folder}")
    return found


def kernel_name() -> str:
    """The suite's registered kernel if present, else the running interpreter's own ipykernel."""
    from jupyter_client.kernelspec import KernelSpecManager

    return KERNEL if KERNEL in KernelSpecManager().find_kernel_specs() else "python3"


def run_notebook(path: Path, out_dir: Path, parameters: dict, kernel: str | None = None) -> Outcome:
    """Execute one notebook headless (cwd = its folder) into ``out_dir``; never raises on cell errors."""
    import papermill as pm

    out_dir.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    try:
        pm.execute_notebook(
            str(path),
            str(out_dir / path.name),
            parameters=parameters,
            kernel_name=kernel or kernel_name(),
            cwd=str(path.parent),
            progress_bar=False,
        )
    except pm.PapermillExecutionError as err:
        message = f"{describe_cell(out_dir / path.name, err.cell_index)}: {err.ename}: {err.evalue}"
        return Outcome(path.name, "failed", time.perf_counter() - start, message)
    except Exception as err:  # a notebook that cannot be read or started: report it, run the rest
        message = f"could not run: {type(err).__name__}: {err}"
        return Outcome(path.name, "failed", time.perf_counter() - start, message)
    return Outcome(path.name, "ok", time.perf_counter() - start)


def describe_cell(executed: Path, index: int) -> str:
    """Name a failing cell as it is in the source notebook: its 0-based index and first line.

    papermill counts cells of the executed copy, which holds one injected-parameters cell more.
    """
    import nbformat

    cells = [c for c in nbformat.read(executed, as_version=4).cells
             if "papermill-error-cell-tag" not in c.metadata.get("tags", [])]  # banners papermill adds
    injected = sum("injected-parameters" in c.metadata.get("tags", []) for c in cells[:index])
    first_line = next((ln for ln in cells[index].source.splitlines() if ln.strip()), "")
    return f"cell {index - injected} ({first_line.strip()[:60]!r})"


@contextmanager
def figures_for(profile: str):
    """While the runner runs, point ``melib.setup`` (through ``MELIB_FIGURES``, which each kernel
    inherits) at the repo's tracked figures/ for teach and paper; smoke keeps its under OUT/figures.
    A notebook run by hand in JupyterLab never sees the variable, so it never rewrites figures/."""
    saved = os.environ.get(FIGURES_ENV)
    if profile in ("smoke", "study"):  # study: `make report` publishes its own figures under reports/
        os.environ.pop(FIGURES_ENV, None)
    else:
        os.environ[FIGURES_ENV] = str(REPO_ROOT / "figures")
    try:
        yield
    finally:
        os.environ.pop(FIGURES_ENV, None)
        if saved is not None:
            os.environ[FIGURES_ENV] = saved


def format_table(outcomes: list[Outcome]) -> str:
    width = max([len("notebook")] + [len(o.notebook) for o in outcomes])
    lines = [f"{'notebook':<{width}}  status  wall time", f"{'-' * width}  ------  ---------"]
    for o in outcomes:
        lines.append(f"{o.notebook:<{width}}  {o.status:<6}  {o.seconds:8.1f}s")
    lines.append(f"{'total':<{width}}  {'':<6}  {sum(o.seconds for o in outcomes):8.1f}s")
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m melib.run", description=__doc__.splitlines()[0])
    ap.add_argument("--profile", default="teach", choices=PROFILE_NAMES)
    ap.add_argument("--data", default="synth", help="'synth' or the path of a real dataset root")
    ap.add_argument("--device", default="auto", choices=DEVICE_NAMES)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=str(REPO_ROOT / "build"), help="OUT for every notebook")
    ap.add_argument("--only", action="append", help="run only notebook NN (repeatable, or 03,04)")
    ap.add_argument("--notebooks", default=str(NOTEBOOKS), help=argparse.SUPPRESS)
    ap.add_argument("--fail-fast", action="store_true", help="stop at the first failing notebook")
    ap.add_argument("--executor", choices=EXECUTOR_NAMES, default=None,
                    help="where LOSO folds / feature jobs run (sets MELIB_EXECUTOR for the kernels)")
    ap.add_argument("--cap", type=int, default=None,
                    help="dry run: N batches per training phase, one fold (sets MELIB_CAP; make paper-check)")
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    from tqdm.auto import tqdm

    args = parse_args(argv)
    for name, value in (("MELIB_EXECUTOR", args.executor), ("MELIB_CAP", args.cap)):
        if value is not None:  # each kernel inherits the environment: melib.setup reads them
            os.environ[name] = str(value)
    out = Path(args.out).expanduser().resolve()
    data = args.data if args.data == "synth" else str(Path(args.data).expanduser().resolve())
    params = {"PROFILE": args.profile, "DATA": data, "DEVICE": args.device, "SEED": args.seed, "OUT": str(out)}
    notebooks = find_notebooks(Path(args.notebooks), args.only)
    if not notebooks:
        print(f"no notebooks found in {args.notebooks}", file=sys.stderr)
        return 2
    kernel = kernel_name()
    print(f"running {len(notebooks)} notebook(s) with kernel {kernel!r}: {params}")
    outcomes: list[Outcome] = []
    bar = tqdm(notebooks, desc="notebooks", unit="nb")
    with figures_for(args.profile):
        for path in bar:
            bar.set_postfix_str(path.name)
            outcome = run_notebook(path, out / "notebooks", params, kernel)
            outcomes.append(outcome)
            if outcome.status != "ok":
                tqdm.write(f"FAILED {outcome.notebook}: {outcome.error}")
                if args.fail_fast:
                    break
    bar.close()
    print(format_table(outcomes))
    (out / "notebooks" / "summary.json").write_text(
        json.dumps({"parameters": params, "outcomes": [asdict(o) for o in outcomes]}, indent=2)
    )
    failed = [o for o in outcomes if o.status != "ok"]
    for o in failed:
        print(f"FAILED {o.notebook}: {o.error}\n  executed copy: {out / 'notebooks' / o.notebook}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
