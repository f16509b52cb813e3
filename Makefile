# Set-up and main jobs. Needs python3 (3.10-3.13) with its venv module, and make.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: run test venv test-venv notebooks golden benchmark validate figures clean

# `make run` installs only what the command line and its plots need (pip install -e .);
# `make test` adds the test and browser extras, `make notebooks` the notebook extra, each once.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --disable-pip-version-check --progress-bar off -e .
	touch $(STAMP)

TEST_STAMP := $(VENV)/.test-stamp

$(TEST_STAMP): $(STAMP)
	$(BIN)/python -m pip install --disable-pip-version-check --progress-bar off -e ".[test,browser]"
	touch $(TEST_STAMP)

venv: $(STAMP)

test-venv: $(TEST_STAMP)

## make run: an example query (its table, triage and advice) and a plot in figures/example-query.png
run: venv
	mkdir -p figures
	$(BIN)/popliteal query -e age=67 -e long_travel=yes -e calf_swelling=yes -e calf_tenderness=yes \
		--plot figures/example-query.png
	@echo "plot written to figures/example-query.png"

## make test: the whole test suite, notebooks included, on every core (pytest-xdist; each test
## file stays in one worker, so a module's fixtures are built once). PYTEST_ARGS="-n 0" runs it in one process.
PYTEST_ARGS ?= -n auto --dist loadfile
test: test-venv
	MPLBACKEND=Agg $(BIN)/python -m pytest $(PYTEST_ARGS)

## make notebooks: JupyterLab on notebooks/, in the project's environment (installs the
## notebooks extra, JupyterLab and ipywidgets, the first time). More JupyterLab options in ARGS:
##   make notebooks ARGS="--no-browser --port 8899"
NB_STAMP := $(VENV)/.notebooks-stamp

$(NB_STAMP): $(STAMP)
	$(BIN)/python -m pip install --disable-pip-version-check --progress-bar off -e ".[notebooks]"
	touch $(NB_STAMP)

notebooks: $(NB_STAMP)
	$(BIN)/python -m jupyterlab $(if $(filter 0,$(shell id -u)),--allow-root) $(ARGS) notebooks/

golden: venv
	$(BIN)/python scripts/update_golden.py

figures: venv
	MPLBACKEND=Agg $(BIN)/python scripts/make_figures.py
	MPLBACKEND=Agg $(BIN)/python scripts/make_architecture.py

benchmark: test-venv
	$(BIN)/python scripts/benchmark.py

validate: venv
	MPLBACKEND=Agg $(BIN)/python scripts/validate.py

clean:
	rm -rf $(VENV) build dist .pytest_cache .hypothesis
