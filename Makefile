# nv12kit developer tasks. Needs GNU make and python3 (>= 3.10); everything
# else is installed into $(VENV) from the configured package index.

PYTHON ?= python3
VENV = .venv
VENV_PY = $(VENV)/bin/python
STAMP = $(VENV)/.installed

.DEFAULT_GOAL := test
.PHONY: install demo lab test bench clean distclean

install: $(STAMP)

# Reinstalls whenever pyproject.toml changes (new deps or extras).
$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 10))' || \
	  { echo "nv12kit needs Python >= 3.10; '$(PYTHON)' is $$($(PYTHON) --version 2>&1)." \
	         "Run: make PYTHON=/path/to/python3.10+ ..." >&2; exit 1; }
	@test -x $(VENV_PY) || $(PYTHON) -m venv $(VENV) || \
	  { echo "Could not create $(VENV). On Debian/Ubuntu: apt-get install python3-venv" >&2; \
	    rm -rf $(VENV); exit 1; }
	$(VENV_PY) -m pip install --quiet --upgrade pip
	$(VENV_PY) -m pip install -e '.[notebooks,test]'
	@touch $@

demo: $(STAMP)
	@mkdir -p reports
	$(VENV)/bin/nv12kit demo --force --report reports/demo.html
	$(VENV)/bin/nv12kit report notebooks/01_guided_triage.ipynb --force \
	  -p report_path reports/demo_notebook_triage.html -o reports/demo_notebook.html
	@echo "Triage report:   reports/demo.html"
	@echo "Notebook report: reports/demo_notebook.html"
	@echo "Open the notebooks: make lab"

# JupyterLab on the notebooks. Jupyter refuses to start as root (containers) without --allow-root; on Linux with no
# display there is no browser to open, so it only prints the address to open. LAB_ARGS adds options (--port=8899).
LAB_ARGS ?=
LAB_FLAGS = $(if $(filter 0,$(shell id -u)),--allow-root) \
  $(if $(filter Linux,$(shell uname -s)),$(if $(DISPLAY)$(WAYLAND_DISPLAY),,--no-browser))

lab: $(STAMP)
	$(VENV)/bin/jupyter lab notebooks $(strip $(LAB_FLAGS) $(LAB_ARGS))

# Doctests of the package, the test suite, and the notebooks once they exist.
test: $(STAMP)
	@nb=""; \
	if ls notebooks/*.ipynb >/dev/null 2>&1; then \
	  nb="--nbval-lax --nbval-current-env notebooks"; \
	fi; \
	echo "$(VENV_PY) -m pytest -q --doctest-modules nv12kit tests $$nb"; \
	$(VENV_PY) -m pytest -q --doctest-modules nv12kit tests $$nb

bench: $(STAMP)
	@set -e; found=0; \
	for f in benchmarks/*.py; do \
	  [ -e "$$f" ] || continue; found=1; \
	  echo "== $$f"; $(VENV_PY) "$$f"; \
	done; \
	[ $$found = 1 ] || echo "no benchmarks/*.py yet"

clean:
	rm -rf build dist *.egg-info reports .pytest_cache .hypothesis
	find . -path ./$(VENV) -prune -o \
	  \( -name __pycache__ -o -name .ipynb_checkpoints \) -type d -print0 | xargs -0 rm -rf

distclean: clean
	rm -rf $(VENV)
