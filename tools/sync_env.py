"""Write environment.yml from requirements.lock so conda users get exactly the tested versions.

    python tools/sync_env.py        # after changing requirements.lock
"""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HEADER = """# conda env create -f environment.yml && conda activate melib
# Generated from requirements.lock by tools/sync_env.py: the same pinned versions as `make`.
# CUDA machines: then `pip install --no-build-isolation --no-deps mamba-ssm einops triton`.
name: melib
channels:
  - conda-forge
dependencies:
  - python=3.11
  - pip
  - pip:
"""


def render() -> str:
    pins = [ln.strip() for ln in (ROOT / "requirements.lock").read_text().splitlines()
            if ln.strip() and not ln.startswith("#")]
    return HEADER + "".join(f"      - {p}\n" for p in pins) + "      - -e .\n"


if __name__ == "__main__":
    (ROOT / "environment.yml").write_text(render())
