# On a fresh machine:                make demo  (train the default preset, write results and figures)
#                                    make test  (set up and run the test suite)
#                                    make docs  (build the documentation site into build/site, offline)
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# the local data copy used on these machines and in CI; elsewhere data are downloaded to ~/.cache/aae
DATA ?= $(wildcard ../shared/data)
DATA_ARG := $(if $(DATA),--data-dir $(DATA),)
EPOCHS ?= 20
# which torch pip installs: on Linux, PyPI's torch wheels are the CUDA builds (several GB with
# their CUDA libraries); TORCH_INDEX=https://download.pytorch.org/whl/cpu takes the CPU build
TORCH ?= torch==2.13.0
TORCH_INDEX ?=
TORCH_PIP_ARGS := $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX),)

.PHONY: demo test docs lint clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	# $(TORCH) as pip finds it (see TORCH_INDEX above); otherwise any torch>=2.4
	$(PY) -m pip install -q $(TORCH_PIP_ARGS) "$(TORCH)" || $(PY) -m pip install -q $(TORCH_PIP_ARGS) "torch>=2.4"
	$(PY) -m pip install -q -e ".[test,docs]"
	touch $@

demo: $(VENV)/.installed
	$(PY) -m aae train mnist-gaussian-2d --epochs $(EPOCHS) --out runs/demo --overwrite $(DATA_ARG)
	@echo "results: runs/demo/summary.json, figures: runs/demo/figures/"

test: $(VENV)/.installed
	$(PY) -m ruff check src tests benchmarks
	$(PY) -m pytest

docs: $(VENV)/.installed
	NO_MKDOCS_2_WARNING=1 $(PY) -m mkdocs build --strict
	@echo "site: build/site/index.html"

clean:
	rm -rf $(VENV) runs .pytest_cache build/site
