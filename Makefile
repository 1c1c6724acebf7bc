# Two commands on a fresh machine: `make demo` and `make test`. Each builds .venv itself.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
DEMO_SERVE ?= 1
DEMO_ADDR ?= 127.0.0.1:8000

.PHONY: demo test install install-dev clean messages compile-messages

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

# Local use: without SECRET_KEY, a key generated once and kept in DATA_DIR/secret_key.
demo: install
	LOCAL_SECRET_KEY=1 DEMO_SERVE=$(DEMO_SERVE) DEMO_ADDR=$(DEMO_ADDR) $(PY) manage.py demo

# Two pytest-xdist workers, a test file each at a time (its module fixtures stay in one process);
# TEST_WORKERS=0 runs everything in this process, as when debugging one test.
TEST_WORKERS ?= 2
test: install-dev
	LOCAL_SECRET_KEY=1 $(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

# After changing translatable strings: `make messages` extracts them into locale/zh_Hans/LC_MESSAGES/django.po
# (needs GNU gettext: apt-get install gettext); translate the new msgstr lines, then `make compile-messages`
# (Babel, no gettext needed). The compiled .mo file is committed, so running the project needs neither.
messages: install-dev
	LOCAL_SECRET_KEY=1 $(PY) manage.py makemessages --locale zh_Hans --ignore 'var/*' --ignore 'fixtures/*' --ignore 'tests/*' --ignore 'bench/*' --no-obsolete

compile-messages: install-dev
	$(VENV)/bin/pybabel compile --domain django --directory locale --statistics

clean:
	rm -rf $(VENV) var
