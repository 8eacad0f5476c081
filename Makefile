# Two commands set everything up on a fresh machine:
#   make demo   install into .venv, train the bundled demo, complete its prompt
#   make test   install with the test extra, run the test suite
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
RNNCLI := $(VENV)/bin/rnncli
PROMPT := My favourite dish is sushi. So, my favourite cuisine is

.PHONY: demo test bench bench-smoke clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.installed: $(PY) pyproject.toml
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

demo: $(VENV)/.installed
	$(RNNCLI) train configs/cuisine.yaml
	$(RNNCLI) complete "$(PROMPT)"

test: $(VENV)/.installed
	$(PY) -m pytest -q

clean:
	rm -rf $(VENV) runs *.egg-info
