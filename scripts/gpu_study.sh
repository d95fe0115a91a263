#!/usr/bin/env bash
# The book's GPU work under JAX: the study of scripts/study.json, then the GPU benchmark, results into one folder.
#
#   scripts/gpu_study.sh OUT [study|benchmark|all] [--quick]
#
# The study trains its runs side by side ($SEGBOOK_PARALLEL at once, default 14: every run of the manifest).
# OUT receives artifacts.tar.gz (every finished run; the model file only of seed 0 of each run, which the chapters,
# the figures and the demo load), study-logs.tar.gz, study.log, and the benchmark's JSON and log. The study stops after
# $SEGBOOK_STUDY_SECONDS and the benchmark after $SEGBOOK_BENCHMARK_SECONDS (default 1 hour each); the runs and
# the models measured by then are collected all the same, and the benchmark runs whatever the study's outcome.
# --quick runs both in their quick modes, to try the script end to end on a CPU.
set -euo pipefail
out=${1:?usage: scripts/gpu_study.sh OUT [study|benchmark|all] [--quick]}
phase=${2:-all}
quick=${3:-}
cd "$(dirname "$0")/.."
mkdir -p "$out"
export KERAS_BACKEND=${KERAS_BACKEND:-jax} PYTHONUNBUFFERED=1 TF_CPP_MIN_LOG_LEVEL=3
# JAX takes GPU memory as it needs it, up to each worker's share, rather than 75 % of the GPU at its first use.
export XLA_PYTHON_CLIENT_PREALLOCATE=${XLA_PYTHON_CLIENT_PREALLOCATE:-false}
python=${PYTHON:-python3}
status=0

if [[ $phase == study || $phase == all ]]; then
    work=$(mktemp -d)
    timeout "${SEGBOOK_STUDY_SECONDS:-3600}" "$python" scripts/study.py artifacts/study.json $quick \
        --parallel "${SEGBOOK_PARALLEL:-14}" --artifacts "$work/artifacts" 2>&1 | tee "$out/study.log" || status=$?
    tar -czf "$out/study-logs.tar.gz" -C "$work/artifacts" logs || status=$?
    rm -r "$work/artifacts/logs"
    # Finished runs only: an unfinished one's backup (weights and optimizer state) is large and stays behind.
    for run in "$work"/artifacts/*/seed-*; do [[ -f $run/run.json ]] || rm -r "$run"; done
    find "$work/artifacts" -name model.keras | { grep -v -E '/seed-0/model.keras$' || true; } | xargs -r rm
    tar -czf "$out/artifacts.tar.gz" -C "$work/artifacts" . || status=$?
fi
if [[ $phase == benchmark || $phase == all ]]; then
    # U-Net first: if the time limit stops the benchmark, the report written after each model is kept.
    timeout "${SEGBOOK_BENCHMARK_SECONDS:-3600}" "$python" benchmarks/speed.py $quick --models unet vnet fcn8s \
        --out "$out/benchmark.json" 2>&1 | tee "$out/benchmark.log" || status=$?
fi
exit $status
