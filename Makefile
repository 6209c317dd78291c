# Two commands on a fresh machine (each creates .venv when missing):
#   make demo   the whole pipeline on the built-in demo shop
#   make test   the test suite
# Installs take torch's tested release from constraints.txt (pip -c).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
# Offline by default: nothing downloads weights or data at run time.
export HF_HUB_OFFLINE ?= 1
export TRANSFORMERS_OFFLINE ?= 1
export HF_HUB_DISABLE_TELEMETRY ?= 1
export MLFLOW_DISABLE_TELEMETRY ?= true
export PREFECT_SERVER_ANALYTICS_ENABLED ?= false
export PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS ?= 90

.PHONY: install demo test test-all benchmark clean

$(BIN)/.installed: pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]' -c constraints.txt
	touch $@

install: $(BIN)/.installed

demo: install
	$(BIN)/labelops demo

test: install
	$(BIN)/python -m pytest -m "not slow"

test-all: install
	$(BIN)/python -m pytest

benchmark: install
	$(BIN)/python benchmarks/ingest.py

clean:
	rm -rf data .pytest_cache
