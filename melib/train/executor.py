"""Where independent jobs run: LOSO folds (AMMSM, ME-TST) and ROI-feature extraction per video.

A job is a module-level function and its (picklable) arguments; it writes its result to disk (a fold's
``DONE`` folder, a feature cache), so whoever submitted it reads the result exactly as an inline run
would, and a re-run submits only what is still missing. Executors (``cfg.cluster.executor``):

- ``inline``: call the jobs one after another in this process (the default).
- ``local``: one subprocess per job on this machine (submitit's LocalExecutor), at most ``parallelism``
  at a time.
- ``slurm``: one Slurm job array (submitit), at most ``parallelism`` tasks running at once.
- ``auto``: ``slurm`` when ``srun`` is on PATH and ``sinfo`` answers, else ``inline``.

``PROFILES["cluster"]`` keys (``cfg.cluster``; override with env ``MELIB_CLUSTER="gpus=0,partition=cpu"``
or a CLI's ``--cluster``): ``executor``; ``partition`` (None = the cluster's default), ``timeout_min``
(per job; keep >= 2, submitit signals the job 90 s before the limit), ``cpus`` (per job), ``gpus`` (per
job), ``mem_gb``, ``parallelism`` (array tasks / local processes at once), ``poll_s`` (progress polling).
Logs: ``<folder>/<job id>_log.out|err``; a failed job raises :class:`JobsFailed`, which names each failed
job and shows the tail of its log.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

from tqdm.auto import tqdm

KINDS = ("inline", "local", "slurm")
LOG_TAIL = 25  # lines of a failed job's log shown in the error


@dataclass(frozen=True)
class Job:
    """One unit of work: ``fn(*args)``; ``name`` (e.g. the held-out subject) labels progress and errors."""

    name: str
    fn: Callable
    args: tuple = ()


class JobsFailed(RuntimeError):
    """Some jobs failed; ``failures`` maps each failed job's name to its error and log tail."""

    def __init__(self, label: str, failures: dict[str, str], total: int):
        self.failures = failures
        names = ", ".join(failures)
        body = "\n\n".join(f"--- {name}: {text}" for name, text in failures.items())
        super().__init__(f"{label}: {len(failures)} of {total} job(s) failed ({names}); re-running submits only "
                         f"those that did not finish.\n{body}")


def slurm_available(timeout: float = 10.0) -> bool:
    """True when ``srun`` is on PATH and the controller answers ``sinfo`` (a Slurm to submit to)."""
    if shutil.which("srun") is None or shutil.which("sinfo") is None:
        return False
    try:
        return subprocess.run(["sinfo", "-h"], capture_output=True, timeout=timeout).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def resolve(name: str) -> str:
    """An executor setting -> the kind that runs the jobs ('auto' decided here)."""
    if name == "auto":
        return "slurm" if slurm_available() else "inline"
    if name not in KINDS:
        raise ValueError(f"executor must be one of {KINDS + ('auto',)}, got {name!r}")
    return name


def inline_config(cfg):
    """A copy of a Config whose jobs run inline: what a submitted job itself runs with (no recursion)."""
    cluster = SimpleNamespace(**{**vars(cfg.cluster), "executor": "inline"})
    return dataclasses.replace(cfg, sections={**cfg.sections, "cluster": cluster})


def make_executor(kind: str, folder: Path, settings: SimpleNamespace, label: str):
    """A submitit executor for ``kind`` ('local' or 'slurm') with the ``cluster`` settings applied."""
    import submitit

    params = dict(timeout_min=settings.timeout_min, cpus_per_task=settings.cpus, name=label[:60])
    if kind == "slurm":
        ex = submitit.AutoExecutor(folder=folder, cluster="slurm")
        params.update(mem_gb=settings.mem_gb, gpus_per_node=settings.gpus,
                      slurm_array_parallelism=settings.parallelism)
        if settings.partition:
            params["slurm_partition"] = settings.partition
    elif kind == "local":
        ex = submitit.AutoExecutor(folder=folder, cluster="local")
        params["gpus_per_node"] = settings.gpus
    else:
        raise ValueError(f"make_executor: kind must be 'local' or 'slurm', got {kind!r}")
    ex.update_parameters(**params)
    return ex


def log_tail(job, lines: int = LOG_TAIL) -> str:
    """The last ``lines`` lines of a submitted job's stderr and stdout logs (with their paths)."""
    out = []
    for path in (job.paths.stderr, job.paths.stdout):
        path = Path(path)
        if path.is_file():
            text = path.read_text(errors="replace").splitlines()[-lines:]
            out.append(f"[{path}]\n" + "\n".join(text))
        else:
            out.append(f"[{path}: no log written]")
    return "\n".join(out)


def _first_line(err: BaseException) -> str:
    lines = [ln for ln in str(err).splitlines() if ln.strip()]
    return f"{type(err).__name__}: {lines[-1] if lines else ''}"


def run_jobs(jobs: Sequence[Job], settings: SimpleNamespace, folder: str | os.PathLike, label: str = "jobs",
             progress: bool = True) -> None:
    """Run ``jobs`` with the executor ``settings.executor``; return when all finished, else raise
    :class:`JobsFailed`. Results are NOT returned: each job writes its own to disk."""
    if not jobs:
        return
    names = [j.name for j in jobs]
    if len(set(names)) != len(names):
        raise ValueError(f"{label}: job names must be unique, got {names}")
    kind = resolve(settings.executor)
    bar = tqdm(total=len(jobs), desc=f"{label} [{kind}]", unit="job", disable=not progress)
    failures: dict[str, str] = {}
    if kind == "inline":
        for job in jobs:
            bar.set_postfix_str(job.name)
            job.fn(*job.args)  # inline: an error surfaces as itself, with its own traceback
            bar.update()
        bar.close()
        return
    folder = Path(folder).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    ex = make_executor(kind, folder, settings, label)
    queue, running = list(jobs), {}
    # Without a Slurm accounting store submitit cannot tell that a killed or cancelled job is gone and would
    # wait forever: give up on the array once every wave of `parallelism` tasks had its time limit + 2 min.
    waves = -(-len(jobs) // max(1, settings.parallelism))
    deadline = time.monotonic() + waves * (60 * settings.timeout_min + 120)
    if kind == "slurm":  # one array; Slurm itself keeps `parallelism` tasks running
        with ex.batch():
            subs = [ex.submit(j.fn, *j.args) for j in queue]
        running, queue = dict(zip(subs, queue)), []
    while queue or running:
        while queue and len(running) < max(1, settings.parallelism):  # local: keep `parallelism` processes
            job = queue.pop(0)
            running[ex.submit(job.fn, *job.args)] = job
        finished = []
        for sub in running:
            if sub.done():
                finished.append(sub)
            elif kind == "slurm" and time.monotonic() > deadline:
                finished.append(sub)
                sub.cancel(check=False)
        for sub in finished:
            job = running.pop(sub)
            err = sub.exception() if sub.done() else TimeoutError(
                f"no result within {waves} x the {settings.timeout_min} min limit (killed, cancelled or "
                "out of time)")
            if err is not None:
                failures[job.name] = f"{_first_line(err)}\n(job {sub.job_id}) log tail:\n{log_tail(sub)}"
                tqdm.write(f"{label}: job {job.name} FAILED ({_first_line(err)}); log: {sub.paths.stderr}")
            bar.set_postfix_str(job.name)
            bar.update()
        if not finished:
            time.sleep(settings.poll_s)
    bar.close()
    if failures:
        raise JobsFailed(label, failures, len(jobs))


def submitter(cfg, label: str, make_job: Callable[[str], Job], progress: bool = True):
    """For :func:`melib.train.loso.run_loso`'s ``submit``: None when ``cfg`` runs jobs inline, else a
    function that runs one ``make_job(fold name)`` per unfinished fold with cfg's executor, logs under
    ``cfg.out/jobs/<label>``."""
    if resolve(cfg.cluster.executor) == "inline":
        return None
    folder = Path(cfg.out) / "jobs" / label

    def submit(names: Sequence[str]) -> None:
        run_jobs([make_job(n) for n in names], cfg.cluster, folder, label, progress)

    return submit


def add_cluster_args(parser) -> None:
    """The ``--executor``, ``--cluster`` and ``--cap`` switches shared by the training CLIs."""
    from melib.params import EXECUTOR_NAMES

    parser.add_argument("--executor", default=None, choices=EXECUTOR_NAMES,
                        help="where folds run (default: env MELIB_EXECUTOR, else the profile's)")
    parser.add_argument("--cluster", default="", metavar="KEY=VALUE,...",
                        help="override cfg.cluster keys, e.g. partition=gpu,gpus=1,timeout_min=600,parallelism=8")
    parser.add_argument("--cap", type=int, default=None,
                        help="dry run: N batches per training phase, one fold (default: env MELIB_CAP)")


def cluster_config(args):
    """:func:`melib.params.setup` from a CLI's parsed arguments (profile, data, device, seed, out and the
    :func:`add_cluster_args` switches)."""
    from melib.params import cluster_overrides, setup

    cfg = setup(args.profile, args.data, args.device, args.seed, args.out, executor=args.executor, cap=args.cap)
    cluster_overrides(cfg.cluster, args.cluster)
    return cfg
