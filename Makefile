# TrustMRV: two commands do everything on a fresh machine.
#   make demo          set up, then run the whole system end to end (anvil, ledger API, meters, edge nodes)
#   make test          set up, then run the whole test suite
# and after `make demo`:
#   make demo-verify   re-check the demo's bundles offline (the same as .venv/bin/mrv bundle verify)
# Set-up is idempotent: a stamp file per toolchain re-runs it only when its inputs change.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
OUT    ?= out/demo

.PHONY: setup debian-packages debian-runtime-packages demo demo-verify test soak bench bench-scale lint clean

# Debian packages the tests need beyond pip and npm: socat (virtual serial pairs for Modbus RTU),
# mbpoll (a Modbus master nobody here wrote, reading the meter simulator) and postgresql (the
# ledger API's tests run on a real PostgreSQL server too, started on 127.0.0.1 by the tests:
# local_servers/postgres.py; `make bench` starts one too).
# poppler-utils (pdftoppm, pdffonts: the report PDF's tests) and chromium (the report HTML opened
# in a real browser through playwright) are test packages too.
DEBIAN_TEST_PACKAGES := socat mbpoll postgresql poppler-utils chromium

# What `mrv report render` needs at run time, installed by `make setup`: pango for WeasyPrint and
# a font with Chinese glyphs (fonts-wqy-microhei: 1.6 MB against fonts-noto-cjk's 57 MB; it covers
# every CJK ideograph of GBK and has Latin glyphs, enough for the report's labels and names).
DEBIAN_RUNTIME_PACKAGES := libpango-1.0-0 libpangoft2-1.0-0 fonts-wqy-microhei

setup: $(VENV)/.installed node_modules/.installed debian-runtime-packages

debian-runtime-packages:
	scripts/install_debian_packages.sh $(DEBIAN_RUNTIME_PACKAGES)

$(VENV)/.installed: pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --no-warn-script-location -c constraints.txt -e '.[dev]'
	touch $@

# The lock file pins the whole tree, anvil's optional binary packages of every platform included
# (as npm writes it), so `npm install` installs this platform's and leaves the file unchanged:
# set-up keeps the work tree clean. Versions are exact in package.json.
node_modules/.installed: package.json package-lock.json
	npm install --no-audit --no-fund --loglevel=error
	touch $@

demo: setup
	$(BIN)/mrv demo --out $(OUT)

# Re-check the demo's bundles offline (`mrv` itself is $(BIN)/mrv; activate the venv to call it
# as `mrv`: `. $(BIN)/activate`).
demo-verify: setup
	$(BIN)/mrv bundle verify $(OUT)/bundles

# One pytest worker per core (pytest-xdist); `make test TEST_ARGS=` runs in one process.
TEST_ARGS ?= -n auto --dist worksteal

debian-packages:
	scripts/install_debian_packages.sh $(DEBIAN_TEST_PACKAGES)

test: setup debian-packages
	$(BIN)/python -m pytest $(TEST_ARGS)

# The long loops (crash kills, state machines) marked `soak`, deselected by `make test`; the
# crash loop kills the node SOAK_ITERATIONS times (at least 100) and its figures (kills by kind,
# readings checked, batches anchored) are printed in the run's summary.
SOAK_ITERATIONS ?= 200

soak: setup debian-packages
	MRV_SOAK_ITERATIONS=$(SOAK_ITERATIONS) $(BIN)/python -m pytest -m soak $(TEST_ARGS)

# Section 9 starts a PostgreSQL server (Debian's postgresql) and anvil on 127.0.0.1 itself.
bench: setup debian-packages
	$(BIN)/python -m benchmarks

# The ledger's ingest from an empty database to BENCH_SCALE_ROWS stored readings (minutes), on
# SQLite; `make bench-scale BENCH_SCALE_ARGS=--postgres` on a PostgreSQL server it starts.
BENCH_SCALE_ROWS ?= 10000000
BENCH_SCALE_ARGS ?=

bench-scale: setup debian-packages
	$(BIN)/python -m benchmarks.bench_ledger_scale --rows $(BENCH_SCALE_ROWS) $(BENCH_SCALE_ARGS)

lint: setup
	$(BIN)/ruff check .
	$(BIN)/mypy

clean:
	rm -rf $(VENV) node_modules out .pytest_cache .mypy_cache .hypothesis
