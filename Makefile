# Two commands do everything on a fresh Debian machine with Python 3.11:
#   make run   - install, migrate, load demo data, serve on http://127.0.0.1:8000
#   make test  - install and run the whole test suite
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
REQUIREMENTS := requirements/base.txt requirements/ml.txt requirements/dev.txt
INSTALLED := $(VENV)/.installed

.PHONY: run test install system-packages migrate seed bench clean ner-default

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

# Reinstall only when a requirements file changed.
$(INSTALLED): $(PY) $(REQUIREMENTS)
	$(PY) -m pip install --quiet -r requirements/dev.txt
	touch $(INSTALLED)

install: $(INSTALLED) system-packages

system-packages:
	@bash scripts/install-system-packages.sh

migrate: install
	$(PY) manage.py migrate --no-input

seed: migrate
	$(PY) manage.py ensure_periodic_tasks
	$(PY) manage.py seed_demo

run: seed
	$(PY) manage.py runserver 127.0.0.1:8000

test: install
	$(PY) -m pytest $(PYTEST_ARGS)

bench: install
	$(PY) bench/list_endpoint.py
	$(PY) bench/settings_read.py
	$(PY) bench/model_switch.py
	$(PY) bench/reminders_dispatch.py
	$(PY) bench/tips_recommendation.py

# Retrain the shipped NER default (docs/nlp.md); needs the CCKS 2019 and CMeEE data sets.
ner-default: install
	@test -n "$(CCKS)" -a -n "$(CMEEE)" || { echo "usage: make ner-default CCKS=DIR CMEEE=DIR"; exit 2; }
	scripts/train_ner_default.sh $(CCKS) $(CMEEE)

clean:
	rm -rf $(VENV) var staticfiles .pytest_cache
