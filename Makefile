# Two commands set everything up on a fresh machine:
#   make demo   install rnncli alone into .venv, train the bundled demo, complete its prompt
#   make test   install with what the suite needs (the test, serve and mpi extras), run ruff
#               and the whole test suite
#   make test-fast  the same without the tests marked slow (pytest -m 'not slow')
# The guide: make docs builds docs/ into site/ with MkDocs (--strict: a broken link fails it);
# make docs-serve previews it at http://127.0.0.1:8000/.
# Benchmark (bench/bench_train.py):
#   make bench        rnncli's training speed on all configs (with TORCH=1: against the PyTorch
#                     reference trainer bench/torch_rnnlm.py, torch in a venv of its own);
#                     then complete's latency and stdin throughput with the demo model,
#                     how often --explain names the demo's dish,
#                     then reading a 100-million-token corpus (tokens/s, peak memory),
#                     then the KN5 baseline against KenLM's lmplz on WikiText-2 and Tiny
#                     Shakespeare (build time, memory, scoring speed, agreement),
#                     then the thread count: train.threads auto against 1 thread beside
#                     CPU-bound processes, and against every core without (bench_threads.py)
#   make bench-smoke  a few seconds, rnncli only
#   make torch-venv   PyTorch for the benchmark only, in bench/.torchvenv (never rnncli's);
#                     TORCH_PIP="torch --index-url URL" picks another wheel (a CPU-only one)
#   make bench-serve  rnncli serve under load: 32 clients, 5,000 completions, the demo model;
#                     then a one-word request's latency beside the largest explain and trace
#   make bench-mpi    training on 1 and 2 MPI ranks (1 BLAS thread each) against 1 process
#                     with 2 threads, and the time of the all-reduce per window
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
RNNCLI := $(VENV)/bin/rnncli
PROMPT := My favourite dish is sushi. So, my favourite cuisine is
TORCH_VENV := bench/.torchvenv
TORCH_PY   := $(TORCH_VENV)/bin/python
TORCH_PIP  ?= torch

.PHONY: demo test test-fast docs docs-serve bench bench-smoke bench-serve bench-mpi torch-venv clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

# rnncli and its own dependencies (numpy, typer, rich, pyyaml, safetensors, regex)
$(VENV)/.installed: $(PY) pyproject.toml
	$(PY) -m pip install --quiet -e .
	touch $@

# and what the tests and benchmarks use: pytest, ruff, the server, OpenAI's client, playwright,
# mpi4py and an MPI
$(VENV)/.installed-all: $(VENV)/.installed
	$(PY) -m pip install --quiet -e '.[test,serve,mpi]'
	touch $@

demo: $(VENV)/.installed
	$(RNNCLI) train configs/cuisine.yaml
	$(RNNCLI) complete "$(PROMPT)"

test: $(VENV)/.installed-all
	$(PY) -m ruff check .
	$(PY) -m pytest -q

test-fast: $(VENV)/.installed-all
	$(PY) -m ruff check .
	$(PY) -m pytest -q -m "not slow"

$(VENV)/.docs: $(PY) pyproject.toml
	$(PY) -m pip install --quiet -e '.[docs]'
	touch $@

docs: $(VENV)/.docs
	NO_MKDOCS_2_WARNING=1 $(PY) -m mkdocs build --strict

docs-serve: $(VENV)/.docs
	NO_MKDOCS_2_WARNING=1 $(PY) -m mkdocs serve

$(TORCH_VENV)/.installed:
	$(PYTHON) -m venv $(TORCH_VENV)
	$(TORCH_PY) -m pip install --quiet $(TORCH_PIP) numpy
	touch $@

torch-venv: $(TORCH_VENV)/.installed

bench: $(VENV)/.installed-all $(if $(TORCH),$(TORCH_VENV)/.installed)
	$(if $(TORCH),RNNCLI_TORCH_PYTHON=$(abspath $(TORCH_PY))) $(PY) bench/bench_train.py $(BENCH_ARGS)
	$(PY) bench/bench_complete.py
	$(PY) bench/demo_explain.py
	$(PY) bench/bench_load.py
	$(PY) bench/bench_kn.py
	$(PY) bench/bench_threads.py

bench-serve: $(VENV)/.installed-all
	$(PY) bench/bench_serve.py $(BENCH_ARGS)

bench-smoke: $(VENV)/.installed-all
	$(PY) bench/bench_train.py --smoke $(BENCH_ARGS)

bench-mpi: $(VENV)/.installed-all
	$(PY) bench/bench_mpi.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) $(TORCH_VENV) runs site *.egg-info
