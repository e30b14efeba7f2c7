#!/usr/bin/env bash
# make bench: scripts/bench.py runs the workloads and writes
# build/bench/results.md (its docstring says what is measured, how, and
# the BENCH_* variables it reads).
exec python3 "$(dirname "$0")/bench.py" "$@"
