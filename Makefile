# `make run` and `make test` build their own virtualenv; nothing else is needed but python3.
# `make help` lists the targets.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
RUN_STAMP  := $(VENV)/.installed-run
TEST_STAMP := $(VENV)/.installed-test

VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml)
WHEEL   := dist/aoa-$(VERSION)-py3-none-any.whl
# The zipapp carries compiled wheels (msgspec, aiohttp, …) for one Python version and platform:
# its name says which, e.g. dist/aoa-0.2.0-py311-linux-x86_64.pyz.
PYTAG   = $(shell $(PYTHON) -c 'import sys, sysconfig; print("py%d%d-%s" % (*sys.version_info[:2], sysconfig.get_platform().replace(".", "_")))')
ZIPAPP  = dist/aoa-$(VERSION)-$(PYTAG).pyz

.PHONY: help run check test wheel zipapp bench ci clean

help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  make %-8s %s\n", $$1, $$2}' $(MAKEFILE_LIST)
	@echo "  Variables: PYTHON=$(PYTHON) (the interpreter for the venv and the zipapp), PYTEST_ARGS=…"

$(RUN_STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e .
	touch $@

$(TEST_STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $@ $(RUN_STAMP)

run: $(RUN_STAMP) ## start aoa on :8080 (runtime dependencies only; configure with env vars)
	$(BIN)/aoa

check: $(RUN_STAMP) ## validate the configuration in the environment and print it, secrets redacted
	$(BIN)/aoa --check

test: $(TEST_STAMP) ## run the test suite (loopback only; PYTEST_ARGS="-q tests/test_x.py" for one file)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

wheel: ## build dist/aoa-<version>-py3-none-any.whl (what pip, the zipapp and the image install)
	rm -rf build $(WHEEL)
	$(PYTHON) -m pip wheel -q --no-deps -w dist .
	@ls -l $(WHEEL)

# shiv runs in a throw-away venv of the target interpreter, so `make zipapp PYTHON=python3.12`
# builds for 3.12 (its wheels) whatever Python built .venv.
zipapp: wheel ## build dist/aoa-<version>-py<XY>-<platform>.pyz for $(PYTHON) (PYTHON=python3.12 for another)
	rm -rf build/zipapp
	$(PYTHON) -m venv build/zipapp
	build/zipapp/bin/python -m pip install -q shiv
	build/zipapp/bin/shiv --reproducible --compressed -c aoa --preamble .ci/zipapp_preamble.py \
		-o $(ZIPAPP) $(WHEEL)
	@ls -l $(ZIPAPP)

bench: ## run the benchmarks (bench/README.md; BENCH_QUICK=1 for a shorter run)
	$(MAKE) -C bench run PYTHON=$(PYTHON)

ci: ## what CI runs: tests, then the wheel, the zipapp and the lowest dependency versions smoke-tested
	.ci/run

clean: ## remove the virtualenv and build outputs
	rm -rf $(VENV) dist build *.egg-info
