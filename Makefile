# Two commands on a fresh machine: `make demo` and `make test`. Each builds .venv itself.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
DEMO_SERVE ?= 1
DEMO_ADDR ?= 127.0.0.1:8000

.PHONY: demo test install install-dev clean

# torch is pinned and installed first: the machine holds a CPU wheel of 2.13.0, and any other
# resolution pulls gigabytes of CUDA packages through sentence-transformers.
$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q -U pip
	$(PIP) install -q "torch==2.13.0"
	$(PIP) install -q -e .
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed
	$(PIP) install -q -e ".[dev]"
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

demo: install
	DEMO_SERVE=$(DEMO_SERVE) DEMO_ADDR=$(DEMO_ADDR) $(PY) manage.py demo

test: install-dev
	$(PY) -m pytest $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) var
