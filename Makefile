# `make test` and `make run` build their own virtualenv; nothing else is needed but python3.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-test

.PHONY: test run check zipapp bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $@

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

run: $(STAMP)
	$(BIN)/aoa

check: $(STAMP)
	$(BIN)/aoa --check

# A single-file executable: `python3 dist/aoa.pyz` needs only a Python of the same version.
zipapp: $(STAMP)
	rm -rf dist build
	mkdir -p dist
	$(BIN)/shiv --reproducible --compressed -c aoa -o dist/aoa.pyz . 
	@ls -l dist/aoa.pyz

bench:
	$(MAKE) -C bench run PYTHON=$(PYTHON)

clean:
	rm -rf $(VENV) dist build *.egg-info
