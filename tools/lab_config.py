"""JupyterLab settings for `make lab` (``jupyter lab --config=tools/lab_config.py``).

The suite's notebooks (``NN_topic.ipynb``) are stored without outputs. JupyterLab saves a notebook as
it is on screen, so before every save (autosave included) this strips it with nbstripout's own
routine: outputs, execution counts, widget state and the kernel details JupyterLab records. What lands
on disk is the stored form plus the user's own edits, so a session leaves ``git status`` clean; the
outputs stay on screen until the notebook is closed. Other notebooks are saved as they are.

Run as a script it prints the keys to pass to nbstripout's git filter (Makefile: lab-filter), so the
filter and this hook strip the same.
"""

from __future__ import annotations

import re
from pathlib import PurePath

# What JupyterLab adds to language_info beyond the stored {"name": "python"}.
LANGUAGE_INFO = [f"metadata.language_info.{k}" for k in
                 ("codemirror_mode", "file_extension", "mimetype", "nbconvert_exporter", "pygments_lexer", "version")]
# nbstripout's command line strips these by default; its Python routine needs them spelled out.
NBSTRIPOUT_DEFAULTS = ["metadata.signature", "metadata.widgets", "cell.metadata.collapsed",
                       "cell.metadata.ExecuteTime", "cell.metadata.execution", "cell.metadata.heading_collapsed",
                       "cell.metadata.hidden", "cell.metadata.scrolled"]
SUITE_NOTEBOOK = re.compile(r"^\d\d_\w+\.ipynb$")


def strip_suite_notebook(model: dict, path: str, contents_manager=None, **kwargs) -> None:
    """Jupyter Server pre-save hook: strip a suite notebook's model in place before it is written."""
    if model.get("type") != "notebook" or not SUITE_NOTEBOOK.match(PurePath(path).name):
        return
    import nbformat
    from nbstripout import strip_output

    nb = nbformat.from_dict(model["content"])
    model["content"] = strip_output(nb, keep_output=False, keep_count=False, keep_id=True,
                                    extra_keys=NBSTRIPOUT_DEFAULTS + LANGUAGE_INFO)


if "get_config" in globals():  # loaded by jupyter as a config file
    get_config().ContentsManager.pre_save_hook = strip_suite_notebook  # noqa: F821

if __name__ == "__main__":
    print(" ".join(LANGUAGE_INFO))
