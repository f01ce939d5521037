"""The repository's shape and the one-way data flow of docs/architecture.md."""

import ast
from pathlib import Path

import pytest

from melib.params import REPO_ROOT

# A module may import only from modules to its left (docs/architecture.md).
ORDER = ["params", "faces", "data", "flow", "magnify", "ssm", "sparse", "models", "train",
         "spotting", "metrics", "viz", "widgets", "report", "run"]
MELIB = REPO_ROOT / "melib"


def component(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def melib_imports(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every melib import in a file, relative imports resolved."""
    package = ".".join(path.relative_to(REPO_ROOT).with_suffix("").parts)
    if path.name == "__init__.py":
        package = package.rsplit(".", 1)[0] + ".__init__"
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.startswith("melib")]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: -node.level]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            if mod.startswith("melib"):
                if mod == "melib":
                    found += [(node.lineno, f"melib.{a.name}") for a in node.names]
                else:
                    found.append((node.lineno, mod))
    return found


def test_top_level_layout():
    for name in ["README.md", "environment.yml", "pyproject.toml", "requirements.lock", "Makefile",
                 ".ci/run", "melib", "notebooks", "tests", "figures"]:
        assert (REPO_ROOT / name).exists(), f"missing {name}"


@pytest.mark.parametrize("path", sorted(MELIB.rglob("*.py")), ids=lambda p: str(p.relative_to(MELIB)))
def test_imports_flow_one_way(path):
    own = component(".".join(path.relative_to(REPO_ROOT).with_suffix("").parts))
    if own in ("", "__init__"):  # melib/__init__.py re-exports params only
        for line, mod in melib_imports(path):
            assert component(mod) == "params", f"melib/__init__.py:{line} imports {mod}"
        return
    assert own in ORDER, f"melib/{own} is not placed in the data flow (add it to docs/architecture.md)"
    for line, mod in melib_imports(path):
        other = component(mod)
        assert other in ORDER, f"{path}:{line} imports unknown melib module {mod}"
        assert ORDER.index(other) <= ORDER.index(own), (
            f"{path.relative_to(REPO_ROOT)}:{line} imports {mod}: '{own}' may import only from its left "
            f"({' -> '.join(ORDER[: ORDER.index(own) + 1])})"
        )


def test_lock_pins_the_requested_versions():
    lock = dict(line.split("==", 1) for line in (REPO_ROOT / "requirements.lock").read_text().split()
                if "==" in line)
    assert lock["torch"] == "2.13.0"
    assert "opencv-contrib-python-headless" in lock
    assert not {"opencv-python", "opencv-python-headless", "opencv-contrib-python"} & set(lock)
    for name in ["jupyterlab", "ipykernel", "ipywidgets", "papermill", "matplotlib", "seaborn", "numpy",
                 "scipy", "pandas", "openpyxl", "xlrd", "tqdm", "pytest", "ruff"]:
        assert name in lock, name


def test_environment_yml_matches_the_lock():
    import importlib.util

    spec = importlib.util.spec_from_file_location("sync_env", REPO_ROOT / "tools" / "sync_env.py")
    sync_env = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(sync_env)
    assert (REPO_ROOT / "environment.yml").read_text() == sync_env.render(), "run tools/sync_env.py"
