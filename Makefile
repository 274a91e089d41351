# chatd: the two commands that matter are `make run` and `make test` (see README.md).
SHELL := /bin/bash
.DEFAULT_GOAL := help

ROOT      := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))
BACKEND   := $(ROOT)/backend
BUILD     := $(ROOT)/build
JOBS      ?= 2
LISTEN    ?= 127.0.0.1:8080
DB        ?= sqlite:./data/chatd.db
ARGS      ?=
CLANG_FORMAT ?= clang-format-14

# Backend C++ sources (build trees excluded).
SOURCES = $(shell find $(BACKEND) -path '$(BACKEND)/build*' -prune -o \
            -type f \( -name '*.cpp' -o -name '*.hpp' -o -name '*.h' -o -name '*.cc' \) -print | sort)

.PHONY: help deps run build release frontend format format-check test clean run-cluster run-stack stop-stack bench fuzz chaos

help:
	@echo "make run           install deps, build (release) and start chatd on http://$(LISTEN)"
	@echo "                   (override: make run ARGS='--auth open' LISTEN=127.0.0.1:9090)"
	@echo "make test          deps, format check, ci + asan + tsan builds, all ctest suites"
	@echo "make build         debug build (dev preset) into build/dev"
	@echo "make format        clang-format the backend sources in place"
	@echo "make format-check  fail if any backend source is not formatted"
	@echo "make fuzz          libFuzzer targets (clang 14), each for FUZZ_SECONDS (default 60) -> build/fuzz"
	@echo "make chaos         two chatd nodes, RabbitMQ, PostgreSQL under load and faults; loss checker (CHAOS_SECONDS=300)"
	@echo "make bench         chat-bench scenarios, chatd vs its peers -> docs/benchmarks.md + docs/bench/*.svg"
	@echo "                   (about 17 min; make bench BENCH_ARGS=--quick: about 10 min)"
	@echo "make run-cluster   RabbitMQ + PostgreSQL + two chatd nodes (:8081, :8082), from Debian packages"
	@echo "make run-stack     run-cluster + nginx (:8080, web client) + Prometheus (:9090)"
	@echo "make stop-stack    stop what run-cluster / run-stack started (by PID)"
	@echo "make clean         remove build/ and frontend/dist/"

deps:
	@$(ROOT)/scripts/install-deps

# The web client is optional until it exists; chatd serves it when frontend/dist is there.
frontend:
	@if [ -f $(ROOT)/frontend/package.json ]; then \
	  cd $(ROOT)/frontend && npm ci && npm run build; \
	fi

release:
	cd $(BACKEND) && cmake --preset release && cmake --build --preset release -j$(JOBS) --target chatd

run: deps frontend release
	@mkdir -p $(ROOT)/data
	cd $(ROOT) && web=(); [ -d frontend/dist ] && web=(--web-root frontend/dist); \
	  exec $(BUILD)/release/chatd --listen $(LISTEN) --db $(DB) "$${web[@]}" $(ARGS)

build:
	cd $(BACKEND) && cmake --preset dev && cmake --build --preset dev -j$(JOBS)

format:
	@$(CLANG_FORMAT) -i $(SOURCES)
	@echo "formatted $(words $(SOURCES)) files"

format-check:
	@$(CLANG_FORMAT) --dry-run --Werror $(SOURCES) && echo "format-check: $(words $(SOURCES)) files ok"

test:
	@$(ROOT)/scripts/run-tests

bench:
	@$(ROOT)/scripts/bench $(BENCH_ARGS)

# docs/security.md, "Fuzzing".
fuzz:
	@FUZZ_SECONDS=$${FUZZ_SECONDS:-60} JOBS=$(JOBS) $(ROOT)/scripts/fuzz

# docs/reliability.md: kill -9 of a node, RabbitMQ restart, PostgreSQL paused, client drops,
# under load; fails on any lost, duplicated, reordered or unexpected message.
chaos:
	@JOBS=$(JOBS) $(ROOT)/scripts/chaos

# The distributed shape without Docker (scripts/run-stack; README.md, docs/operations.md).
run-cluster: release
	@$(ROOT)/scripts/install-deps --test
	@$(ROOT)/scripts/run-stack cluster

run-stack: frontend release
	@$(ROOT)/scripts/install-deps --test
	@$(ROOT)/scripts/run-stack stack

stop-stack:
	@$(ROOT)/scripts/run-stack stop

clean:
	rm -rf $(BUILD) $(ROOT)/frontend/dist
