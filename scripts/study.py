"""Run a study: every run of a manifest (models x seeds x variants), several side by side on one GPU.

    python scripts/study.py [scripts/study.json] [--quick] [--parallel N] [--artifacts DIR]

Finished runs are skipped, interrupted ones resume from their last finished
epoch, and a run folder written by other settings stops the study before
anything starts. With ``--parallel N`` each run trains in its own process, N
at a time; each process may use 1/N of the GPU memory (JAX: a preallocated
fraction; TensorFlow: a memory limit). A small model leaves a large GPU mostly
idle, so side-by-side runs finish the study sooner. ``--quick`` runs the whole
manifest in the quick profile (one epoch on a tiny subset) into a scratch
folder: a check of the manifest and the code path in minutes on a CPU. Each
run's output goes to ``<artifacts>/logs/``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPOSITORY))

from helpers import artifacts, config, study  # noqa: E402

DEFAULT_MANIFEST = REPOSITORY / "scripts" / "study.json"
MEMORY_SHARE_ENV = "SEGBOOK_GPU_MEMORY_SHARE"


def run_job(manifest: study.Manifest, job: study.Job, mode: str, root: Path) -> None:
    """Train one job in this process (the study's workers call this)."""
    _bound_gpu_memory()
    from helpers import training

    dataset = manifest.dataset()
    training.train(
        job.model,
        dataset,
        settings=job.settings,
        profile=manifest.profile(mode),
        model_kwargs=job.model_kwargs,
        seed=job.seed,
        train_digits=manifest.training_digits() if job.settings.fresh_images else None,
        run_dir=job.folder(root),
        verbose=2,
    )


def _bound_gpu_memory() -> None:
    """Under TensorFlow, cap this process's GPU memory at its share (JAX reads its own variable)."""
    share = os.environ.get(MEMORY_SHARE_ENV)
    if not share or os.environ.get("KERAS_BACKEND", "tensorflow") != "tensorflow":
        return
    import tensorflow as tf

    for gpu in tf.config.list_physical_devices("GPU"):
        total_mb = tf.config.experimental.get_device_details(gpu).get("memory_limit_mb")
        if total_mb:
            limit = [tf.config.LogicalDeviceConfiguration(memory_limit=int(float(share) * total_mb))]
            tf.config.set_logical_device_configuration(gpu, limit)
        else:
            tf.config.experimental.set_memory_growth(gpu, True)


def _worker_command(args: argparse.Namespace, job: study.Job) -> list[str]:
    command = [sys.executable, __file__, str(args.manifest), "--worker", job.run, str(job.seed)]
    command += ["--artifacts", str(args.artifacts)] + (["--quick"] if args.quick else [])
    return command


def _worker_env(parallel: int) -> dict[str, str]:
    share = f"{0.9 / parallel:.3f}"
    return {**os.environ, "XLA_PYTHON_CLIENT_MEM_FRACTION": share, MEMORY_SHARE_ENV: share}


def _summary(job: study.Job, root: Path) -> str:
    scores = artifacts.read_json(job.folder(root) / artifacts.METRICS_FILE)
    facts = artifacts.read_json(job.folder(root) / artifacts.RUN_FILE)
    return f"test mean IoU (digits) {scores['mean_iou_digits']:.4f}, {facts['epochs_run']} epochs"


def run_all(args: argparse.Namespace, manifest: study.Manifest, jobs: list[study.Job]) -> list[str]:
    """Run ``jobs`` ``args.parallel`` at a time, each in its own process; print progress; return the failures."""
    logs = args.artifacts / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    waiting, running, failures, durations = list(jobs), {}, [], []
    start = time.perf_counter()
    while waiting or running:
        while waiting and len(running) < args.parallel:
            job = waiting.pop(0)
            log = (logs / f"{job.run}-seed-{job.seed}.log").open("w")
            process = subprocess.Popen(
                _worker_command(args, job), stdout=log, stderr=subprocess.STDOUT, env=_worker_env(args.parallel)
            )
            running[process] = (job, log, time.perf_counter())
            print(f"started  {job.label} (log: {config.display_path(log.name)})", flush=True)
        time.sleep(0.5)
        for process in [process for process in running if process.poll() is not None]:
            job, log, began = running.pop(process)
            log.close()
            durations.append(time.perf_counter() - began)
            done = len(jobs) - len(waiting) - len(running)
            if process.returncode == 0:
                outcome = _summary(job, args.artifacts)
            else:
                failures.append(job.label)
                outcome = f"FAILED (exit {process.returncode}); last lines of {config.display_path(log.name)}:\n"
                outcome += "".join(Path(log.name).read_text().splitlines(keepends=True)[-15:])
            left = sum(durations) / len(durations) * (len(waiting) + len(running)) / args.parallel
            print(
                f"finished {job.label} in {durations[-1]:.0f} s: {outcome}\n"
                f"  [{done}/{len(jobs)} done, {time.perf_counter() - start:.0f} s so far, about {left:.0f} s left]",
                flush=True,
            )
    return failures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("manifest", nargs="?", type=Path, default=DEFAULT_MANIFEST)
    parser.add_argument("--quick", action="store_true", help="every run in the quick profile, into a scratch folder")
    parser.add_argument("--parallel", type=int, default=1, help="runs side by side, each in its own process")
    parser.add_argument("--artifacts", type=Path, help="where runs go (default: artifacts/, or a scratch folder)")
    parser.add_argument("--worker", nargs=2, metavar=("RUN", "SEED"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    mode = "quick" if args.quick else "full"
    if args.parallel < 1:
        parser.error(f"--parallel must be at least 1, got {args.parallel}")
    args.artifacts = args.artifacts or config.artifacts_dir(config.PROFILES[mode])
    try:
        manifest = study.read_manifest(args.manifest)
        if args.worker:
            job = next(job for job in manifest.jobs if [job.run, str(job.seed)] == args.worker)
            run_job(manifest, job, mode, args.artifacts)
            return 0
        manifest.dataset()  # generated once here, so that the workers read it from the cache
        states = study.plan(manifest, mode, args.artifacts)
    except ValueError as error:
        print(f"study: {error}", file=sys.stderr)
        return 2
    todo = states["unfinished"] + states["new"]
    print(
        f"Study '{manifest.name}' ({mode}): {len(manifest.jobs)} runs in {config.display_path(args.artifacts)}; "
        f"{len(states['finished'])} finished (skipped), {len(states['unfinished'])} to resume, "
        f"{len(states['new'])} to train, {args.parallel} side by side",
        flush=True,
    )
    start = time.perf_counter()
    failures = run_all(args, manifest, todo)
    print(f"Study '{manifest.name}' done in {time.perf_counter() - start:.0f} s; {len(failures)} failed", flush=True)
    if failures:
        print("failed: " + ", ".join(failures), file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
