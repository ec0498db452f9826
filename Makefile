# sector-kit: `make demo` runs every notebook into reports/, `make test` runs the tests.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
REPORTS ?= reports
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: venv demo test test-fp32 unit nbval lab notebooks constraints clean

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
	# rapidocr-onnxruntime requires opencv-python, whose wheel needs the system's libGL: its other
	# requirements are in pyproject.toml, with opencv-python-headless in opencv-python's place
	$(BIN)/python -m pip install -q --no-deps "rapidocr-onnxruntime==$$(sed -n 's/^rapidocr-onnxruntime==//p' constraints.txt)"
	touch $(STAMP)

# LANG_REPORTS=fr: every report (and the index) in French.
LANG_REPORTS ?=
demo: venv
	$(BIN)/kit demo --out $(REPORTS) $(if $(LANG_REPORTS),--lang $(LANG_REPORTS))

# Two workers, each given whole test modules or whole notebooks (nbval's cells
# must run in order in one kernel), each on one thread: two threads per worker
# on two cores would oversubscribe them.
# Notebooks: nbval compares stored outputs exactly, except the cells listed in
# notebooks/trained_outputs.yaml, whose numbers from training are compared within tolerances.
TEST_WORKERS ?= 2
NBVAL := --nbval --nbval-current-env --nbval-sanitize-with notebooks/sanitize.cfg \
  -p kit.nbtolerance --nbval-tolerances notebooks/trained_outputs.yaml
TRAINED_NOTEBOOKS := notebooks/04_logistics_vision.ipynb notebooks/05_radiology_triage.ipynb
test: venv
	OMP_NUM_THREADS=1 $(BIN)/pytest tests notebooks -n $(TEST_WORKERS) --dist loadscope $(NBVAL) --durations=15

# The training notebooks once more on the path a CPU without bfloat16 or AVX-512 takes: fp32
# training and AVX2 kernels (Torch's and oneDNN's), forced on this machine. Skipped where it is
# the path `make test` just took, unless FORCE=1.
FORCE ?=
test-fp32: venv
	@if [ -z "$(FORCE)" ] && $(BIN)/python -c 'import sys; from kit.backend import cpu_training_path; sys.exit(cpu_training_path() != ("fp32", "AVX2"))'; then \
	  echo "test-fp32: skipped: this CPU already trains in fp32 on AVX2 kernels, as make test did"; \
	else \
	  KIT_PRECISION=fp32 ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2 OMP_NUM_THREADS=1 \
	    $(BIN)/pytest $(TRAINED_NOTEBOOKS) -n $(TEST_WORKERS) --dist loadscope $(NBVAL) --durations=5; \
	fi

unit: venv
	$(BIN)/pytest tests

nbval: venv
	$(BIN)/pytest notebooks $(NBVAL)

# Re-execute the notebooks in place so their stored outputs are today's (nbval compares against them).
# notebooks/fr/ holds French copies nbval checks too, made from their source (tools/nb_french.py --copies).
notebooks: venv
	$(BIN)/python tools/execute_notebooks.py notebooks/*.ipynb
	$(BIN)/python tools/nb_french.py --copies notebooks/00_quickstart.ipynb notebooks/02_irrigation_planning.ipynb
	$(BIN)/python tools/execute_notebooks.py notebooks/fr/*.ipynb

lab: venv
	$(BIN)/jupyter lab notebooks

# Refresh the pins after a deliberate upgrade; commit the result with the tests that passed on it.
constraints: venv
	$(BIN)/python -m pip freeze --exclude-editable | grep -v '^sector-kit' > constraints.txt

clean:
	rm -rf $(REPORTS) notebooks/outputs .pytest_cache
