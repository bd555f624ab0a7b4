# The service (app/): benchmarks, hostile clients, soak.

BENCH_ARGS ?=

.PHONY: bench
bench: bootstrap ## Benchmark /health vs pgbench (1/16/64 conns); writes docs/benchmarks/health.md
	$(PY) scripts/bench.py $(BENCH_ARGS)

.PHONY: bench-compare
bench-compare: bootstrap ## The same benchmark with uvicorn instead of granian (ADR 0001)
	$(PY) scripts/bench.py --server uvicorn $(BENCH_ARGS)

BENCH_POD_ARGS ?=

.PHONY: bench-pod
bench-pod: bootstrap ## One pod's capacity in the chart's limits, pinned to its own CPU (root, cgroups; <= 8 min); docs/benchmarks/pod.md
	$(PY) scripts/bench_pod.py $(BENCH_POD_ARGS)

HOSTILE_ARGS ?=
SOAK_ARGS ?=

.PHONY: hostile
hostile: bootstrap ## Hostile clients and a killed main process vs one instance; docs/benchmarks/hostile-*.md
	$(PY) scripts/hostile.py $(HOSTILE_ARGS)

.PHONY: soak
soak: up ## 30 min of mixed hostile load against the rehearsal (SOAK_ARGS="--duration 600"); docs/benchmarks/soak.md
	$(PY) scripts/soak.py $(SOAK_ARGS)
