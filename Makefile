# The two commands: `make notebooks` (the suite, teach profile on SynthME) and `make test`.
# Both bootstrap .venv from requirements.lock on first use and reuse it afterwards.
PYTHON  ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.melib-installed
PROFILE ?= teach
DATA    ?= synth
DEVICE  ?= auto
OUT     ?= build
ONLY    ?=
# GPU=1 also builds mamba-ssm's fused kernels (CUDA machines only; needs nvcc).
GPU     ?= 0

.PHONY: notebooks figures test test-browser lint lab lab-filter book bench clean distclean venv student grade

venv: $(STAMP)

$(STAMP): requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q -r requirements.lock
	$(BIN)/python -m pip install -q --no-deps --no-build-isolation -e .
ifeq ($(GPU),1)
	$(BIN)/python -m pip install -q --no-build-isolation --no-deps mamba-ssm einops triton
endif
	$(BIN)/python -m ipykernel install --sys-prefix --name melib --display-name "Python (melib)" >/dev/null
	touch $(STAMP)

notebooks: $(STAMP)
	$(BIN)/python -m melib.run --profile $(PROFILE) --data $(DATA) --device $(DEVICE) --out $(OUT) \
		$(if $(ONLY),--only $(ONLY))

figures: notebooks

lint: $(STAMP)
	$(BIN)/ruff check melib tests tools benchmarks

test: lint
	$(BIN)/python -m pytest -q -ra --durations=15

# Real-browser tests (tests/test_browser.py, test_book.py): JupyterLab runs the widget notebooks in the
# system's Chromium (apt-get install chromium). `make test` runs the quick ones (the book) and skips
# JupyterLab's, which take minutes; .ci/run runs this target too.
test-browser: $(STAMP)
	$(BIN)/python -m pytest -q -ra -m browser --durations=10

# The paper profile proven to run on a CPU (issue 16): every notebook at the papers' model and input sizes
# on a small SynthME at the paper's frame sizes, each training phase capped at CAP batches, one LOSO fold,
# one search generation (MELIB_CAP, read by melib.setup: melib.params.CAPPED; the notebooks are not edited).
# Figures go to OUT/paper-check/figures, not figures/.
CAP ?= 1
.PHONY: paper-check
paper-check: $(STAMP)
	MELIB_CAP=$(CAP) MELIB_EXECUTOR=inline $(BIN)/python -m melib.run --profile paper --data $(DATA) \
		--device $(DEVICE) --out $(OUT)/paper-check $(if $(ONLY),--only $(ONLY))

# JupyterLab on notebooks/ with the suite's kernel (`melib`); starts as root too (containers).
# Working there leaves `git status` clean: tools/lab_config.py strips each suite notebook (nbstripout)
# before JupyterLab writes it, lab-filter makes git see any notebook through nbstripout (.gitattributes
# names the filter), and a notebook run by hand writes its figures to OUT/figures (build/figures):
# only `make notebooks` rewrites figures/.
LAB_FLAGS = $(if $(filter 0,$(shell id -u)),--allow-root)
lab: $(STAMP) lab-filter
	$(BIN)/jupyter lab --notebook-dir=notebooks --config=tools/lab_config.py $(LAB_FLAGS) $(LAB_ARGS)

NBSTRIPOUT = "$(abspath $(BIN))/python" -m nbstripout --keep-id --extra-keys "$(shell $(BIN)/python tools/lab_config.py)"
lab-filter: $(STAMP)
	@if git rev-parse --git-dir >/dev/null 2>&1; then \
	  $(BIN)/nbstripout --install --attributes .gitattributes && \
	  git config filter.nbstripout.clean '$(NBSTRIPOUT)' && \
	  git config diff.ipynb.textconv '$(NBSTRIPOUT) -t'; \
	fi

# The book (tools/book.py): a static HTML edition of the executed notebooks in OUT/notebooks.
book: $(STAMP)
	$(BIN)/python tools/book.py --notebooks $(OUT)/notebooks --out $(OUT)/book

bench: $(STAMP)
	for b in benchmarks/*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

# Classroom editions (tools/classroom.py, nbgrader; docs/course.md): `make student` writes
# build/student/ (no solutions, no hidden tests) and build/instructor/; `make grade SUBMISSIONS=dir`
# autogrades dir/<student>/<NN_topic>.ipynb into build/grades/ (scores.csv, feedback/).
# GRADE_FLAGS=--exercises-only runs only the set-up and exercise cells of each notebook.
SUBMISSIONS ?=
GRADE_FLAGS ?=

student: $(STAMP)
	$(BIN)/python tools/classroom.py student --out $(OUT) $(if $(ONLY),--only $(ONLY))

grade: $(STAMP)
	@test -n "$(SUBMISSIONS)" || { echo "usage: make grade SUBMISSIONS=dir  (dir/<student>/<NN_topic>.ipynb)"; exit 2; }
	$(BIN)/python tools/classroom.py grade $(SUBMISSIONS) --out $(OUT)/grades --profile $(PROFILE) \
		--data $(DATA) --device $(DEVICE) $(if $(ONLY),--only $(ONLY)) $(GRADE_FLAGS)

# The replication report (issue 13; README "Replication report"): the `study` profile's runs of notebooks
# 03 and 06-09 for every seed of PROFILES["report"]["study"]["seeds"] (cached LOSO folds are reused, so an
# interrupted run resumes), then notebook 10, which writes reports/replication.md and reports/figures/.
# About 2 h on the 2-core CPU with the local executor (two one-thread fold processes). REPORT_PROFILE=smoke
# REPORT_DEST=/tmp/r checks the machinery in minutes; REPORT_FLAGS=--report-only re-renders from the cache.
REPORT_PROFILE ?= study
REPORT_DEST    ?= reports
REPORT_FLAGS   ?=
.PHONY: report
report: $(STAMP)
	OMP_NUM_THREADS=1 $(BIN)/python tools/make_report.py --profile $(REPORT_PROFILE) --device $(DEVICE) \
		--out $(OUT)/$(REPORT_PROFILE) --dest $(REPORT_DEST) $(REPORT_FLAGS)

clean:
	rm -rf build .pytest_cache .ruff_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV) *.egg-info
