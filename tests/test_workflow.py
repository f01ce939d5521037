"""The GPU CI workflow (.github/workflows/gpu.yml) validates against GitHub's workflow schema (check-jsonschema's
vendored copy, offline), and asks for what issue 16 says: a self-hosted GPU runner, GPU=1, the gpu tests,
every notebook in the capped paper profile, artefacts."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from melib.params import REPO_ROOT

WORKFLOW = REPO_ROOT / ".github" / "workflows" / "gpu.yml"
LINTER = Path(sys.executable).with_name("check-jsonschema")


def test_gpu_workflow_lints_and_a_broken_one_does_not(tmp_path):
    exe = str(LINTER) if LINTER.exists() else shutil.which("check-jsonschema")
    if exe is None:
        pytest.fail("check-jsonschema is not installed (it is in requirements.lock: run make venv)")
    broken = tmp_path / "broken.yml"
    broken.write_text(WORKFLOW.read_text().replace("runs-on:", "runs_on:", 1))  # a typo GitHub would reject
    # one linter call for both files (it takes seconds to start): only the broken copy may be reported
    out = subprocess.run([exe, "--builtin-schema", "vendor.github-workflows", str(WORKFLOW), str(broken)],
                         capture_output=True, text=True, timeout=120)
    report = out.stdout + out.stderr
    assert out.returncode != 0 and f"{broken}::" in report and "'runs-on' is a required property" in report
    assert f"{WORKFLOW}::" not in report, report  # the real workflow has no schema error


def test_gpu_workflow_runs_the_gpu_tests_and_the_capped_paper_notebooks():
    wf = yaml.safe_load(WORKFLOW.read_text())
    job = wf["jobs"]["gpu"]
    assert job["runs-on"] == ["self-hosted", "gpu"]
    assert job["env"]["MELIB_CAP"].startswith("${{") and job["env"]["MELIB_EXECUTOR"] == "inline"
    runs = "\n".join(s.get("run", "") for s in job["steps"])
    assert "make venv GPU=1" in runs and "pytest -m gpu" in runs
    assert "melib.run --profile paper" in runs and "--device cuda" in runs
    upload = [s for s in job["steps"] if s.get("uses", "").startswith("actions/upload-artifact")]
    assert upload and "notebooks/" in upload[0]["with"]["path"] and "figures/" in upload[0]["with"]["path"]
