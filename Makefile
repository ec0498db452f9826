# sector-kit: `make demo` runs every notebook into reports/, `make test` runs the tests.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
REPORTS ?= reports
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: venv demo test unit nbval lab notebooks constraints clean

venv: $(STAMP)

# Torch goes in first, through pip, at the tested version: its CUDA build runs on
# the CPU too. Everything else is pinned by constraints.txt.
$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade "pip>=24"
	$(BIN)/python -m pip install -q torch==2.14.1 torchvision==0.29.1 -c constraints.txt
	$(BIN)/python -m pip install -q -c constraints.txt -e ".[dev,distributed]"
	# pyet declares pandas<3 but works with pandas 3 (tested): keep the resolver out of it
	$(BIN)/python -m pip install -q --no-deps "pyet==$$(sed -n 's/^pyet==//p' constraints.txt)"
	touch $(STAMP)

demo: venv
	@mkdir -p $(REPORTS)
	@status=0; for nb in $$($(BIN)/kit list --names); do \
	  echo "== $$nb"; $(BIN)/kit run $$nb --out $(REPORTS)/$$nb || status=1; \
	done; $(BIN)/kit report index $(REPORTS) --title "sector-kit demo reports"; exit $$status

# Two workers, each given whole test modules or whole notebooks (nbval's cells
# must run in order in one kernel), each on one thread: two threads per worker
# on two cores would oversubscribe them.
TEST_WORKERS ?= 2
test: venv
	OMP_NUM_THREADS=1 $(BIN)/pytest tests notebooks -n $(TEST_WORKERS) --dist loadscope \
	  --nbval --nbval-current-env --nbval-sanitize-with notebooks/sanitize.cfg --durations=15

unit: venv
	$(BIN)/pytest tests

nbval: venv
	$(BIN)/pytest notebooks --nbval --nbval-current-env --nbval-sanitize-with notebooks/sanitize.cfg

# Re-execute the notebooks in place so their stored outputs are today's (nbval compares against them).
notebooks: venv
	$(BIN)/python tools/execute_notebooks.py notebooks/*.ipynb

lab: venv
	$(BIN)/jupyter lab notebooks

# Refresh the pins after a deliberate upgrade; commit the result with the tests that passed on it.
constraints: venv
	$(BIN)/python -m pip freeze --exclude-editable | grep -v '^sector-kit' > constraints.txt

clean:
	rm -rf $(REPORTS) notebooks/outputs .pytest_cache
