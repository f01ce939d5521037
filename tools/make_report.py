"""`make report`: run the `study` profile (resumable), then notebook 10, and publish reports/replication.md.

    .venv/bin/python tools/make_report.py [--profile study] [--out build/study] [--dest reports] [--report-only]

1. For every seed of ``PROFILES["report"][profile]["seeds"]``: notebooks 06-09 with that SEED through
   ``melib.run`` (finished LOSO folds are loaded from OUT, so an interrupted run resumes where it stopped);
   notebook 03 once (seed 0: AMMSM Fig. 1).
2. Notebook 10 (SEED 0), which pools the seeds' runs and writes OUT/report/replication.md + figures/.
3. Copies OUT/report/ to ``--dest`` and appends each step's wall time to its meta.json.

``--report-only`` skips step 1 (notebook 10 then lists any run that is not on disk) and keeps the wall times
of the run already in ``--dest``'s meta.json (the re-render's own time is added beside them). Exits non-zero when
a notebook fails, naming it.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from melib import run as runner  # noqa: E402
from melib.params import PROFILE_NAMES, PROFILES  # noqa: E402


def step(label: str, argv: list[str], times: dict) -> None:
    t0 = time.perf_counter()
    code = runner.main(argv)
    times[label] = round(time.perf_counter() - t0, 1)
    print(f"== {label}: {times[label]:.0f} s", flush=True)
    if code:
        raise SystemExit(f"make report: {label} failed (exit {code}); re-running resumes from the cached folds")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profile", default="study", choices=PROFILE_NAMES)
    ap.add_argument("--out", default=str(ROOT / "build" / "study"))
    ap.add_argument("--dest", default=str(ROOT / "reports"))
    ap.add_argument("--device", default="auto")
    ap.add_argument("--report-only", action="store_true", help="only notebook 10 on what is cached")
    a = ap.parse_args(argv)
    out, dest = Path(a.out).resolve(), Path(a.dest).resolve()
    common = ["--profile", a.profile, "--device", a.device, "--out", str(out), "--fail-fast"]
    times: dict[str, float] = {}
    start = time.perf_counter()
    if not a.report_only:
        step("notebook 03 (Fig. 1)", common + ["--seed", "0", "--only", "03"], times)
        for seed in PROFILES["report"][a.profile]["seeds"]:
            step(f"notebooks 06-09, seed {seed}", common + ["--seed", str(seed), "--only", "06,07,08,09"], times)
    old_meta = json.loads((dest / "meta.json").read_text()) if (dest / "meta.json").is_file() else {}
    step("notebook 10", common + ["--seed", "0", "--only", "10"], times)
    src = out / "report"
    if dest != src:
        shutil.rmtree(dest / "figures", ignore_errors=True)
        shutil.copytree(src, dest, dirs_exist_ok=True)
    meta = json.loads((dest / "meta.json").read_text())
    if a.report_only and "make report steps (s)" in old_meta:  # a re-render keeps the study run's wall times
        meta["re-rendered by --report-only (s)"] = times.pop("notebook 10")
        times = {**old_meta["make report steps (s)"], **times}
        meta["make report total (s)"] = old_meta["make report total (s)"]
    else:
        meta["make report total (s)"] = round(time.perf_counter() - start, 1)
    meta["make report steps (s)"] = times
    (dest / "meta.json").write_text(json.dumps(meta, indent=1))
    md = dest / "replication.md"
    lines = "\n".join(f"- {k}: {v:.0f} s" for k, v in times.items())
    if "re-rendered by --report-only (s)" in meta:
        lines += (f"\n\nThis page was re-rendered from the run's cache by notebook 10 alone "
                  f"(`--report-only`, {meta['re-rendered by --report-only (s)']:.0f} s); the times above are the run's.")
    md.write_text(md.read_text() + f"\n## How long it took\n\n`make report` ({a.profile} profile): "
                  f"{meta['make report total (s)'] / 60:.1f} min in all.\n\n{lines}\n")
    print(f"report: {dest / 'replication.md'} ({meta['make report total (s)']:.0f} s in all)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
