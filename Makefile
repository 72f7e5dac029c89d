PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: help venv demo test bench soak lint clean

help:
	@echo "make demo   run the continual-learning demo (30 simulated days)"
	@echo "make test   run the test suite"
	@echo "make bench  run the benchmarks against peers"
	@echo "make soak   run the long reliability variants"

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip==25.3"
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[dev,torch,ray,weak-supervision,kinesis,spark]"
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/lifelong demo --workdir .lifelong-demo --json .lifelong-demo/summary.json --report .lifelong-demo/report.html

test: $(STAMP)
	$(BIN)/python -c "from benchmarks.common import peer_python; from benchmarks.drift import NANNYML; peer_python('nannyml', NANNYML)"
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: $(STAMP)
	@# The serving benchmark's maximum-throughput load generator is Debian's wrk (native, one per run).
	@if ! command -v wrk >/dev/null 2>&1 && [ "$$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk; fi
	$(BIN)/python -m benchmarks.run

soak: $(STAMP)
	LIFELONG_RELIABILITY_RESULTS=.lifelong/soak-results.json $(BIN)/python -m pytest tests/reliability -m soak -p no:cacheprovider -rs $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) .lifelong .lifelong-demo .pytest_cache
