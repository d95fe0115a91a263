"""Run a study: every run of a manifest (models x seeds x variants), several side by
side on one GPU.

    python scripts/study.py [artifacts/study.json] [--quick] [--parallel N]
    [--threads T]
    [--artifacts DIR] [--report] [--retrain-stale]

Finished runs are skipped, interrupted ones resume from their last finished
epoch, and a run folder written by other settings stops the study before
anything starts. Runs that older code made are trained again, but in the
committed ``artifacts/`` only with ``--retrain-stale``: without it the study
stops first and names them, since each is hours of training to replace.
With ``--parallel N`` each run trains in its own process, N at a time; each
process may use 0.9/N of the GPU memory (JAX:
``XLA_PYTHON_CLIENT_MEM_FRACTION``; TensorFlow: a memory limit). A small model
leaves a large GPU mostly idle, so side-by-side runs finish the study sooner.
``--quick`` runs the whole
manifest in the quick profile (one epoch on a tiny subset) into a scratch
folder: a check of the manifest and the code path in minutes on a CPU. Each
run's output goes to ``<artifacts>/logs/``. Runs of several seeds train first,
seed by seed, then the single runs (:func:`helpers.train.study.training_order`).
``--report`` prints how many runs are finished and their training time.
On a CPU, ``--parallel 2 --threads 1`` trains one run per core
(``benchmarks/cpu_threads.py`` compares it with one run on both cores).
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPOSITORY))

from helpers import config  # noqa: E402
from helpers.train import artifacts, runs, study  # noqa: E402

MEMORY_SHARE_ENV = "SEGBOOK_GPU_MEMORY_SHARE"


def run_job(
    manifest: study.Manifest,
    job: study.Job,
    mode: str,
    root: Path,
    threads: int | None,
    retrain: bool = False,
) -> None:
    """Train one job in this process (the study's workers call this); ``retrain``
    replaces the run in its folder (one that older code made)."""
    _bound_gpu_memory()
    if threads and os.environ.get("KERAS_BACKEND", "tensorflow") == "tensorflow":
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    from helpers.train import loop

    dataset = manifest.dataset()
    loop.train(
        job.model,
        dataset,
        settings=job.settings,
        profile=manifest.profile(mode),
        model_kwargs=job.model_kwargs,
        seed=job.seed,
        train_digits=manifest.training_digits if job.settings.fresh_images else None,
        data_source=manifest.data.source(),
        run_dir=job.folder(root),
        retrain=retrain,
        verbose=2,
    )


def _bound_gpu_memory() -> None:
    """Under TensorFlow, cap this process's GPU memory at its share of the card (JAX
    reads its own variable)."""
    share = os.environ.get(MEMORY_SHARE_ENV)
    if not share or os.environ.get("KERAS_BACKEND", "tensorflow") != "tensorflow":
        return
    import tensorflow as tf

    total_mb = _gpu_memory_mb()
    for gpu in tf.config.list_physical_devices("GPU"):
        if total_mb:
            limit = [
                tf.config.LogicalDeviceConfiguration(
                    memory_limit=int(float(share) * total_mb)
                )
            ]
            tf.config.set_logical_device_configuration(gpu, limit)
        else:  # the card's size is unknown: take memory as needed, not all at once
            tf.config.experimental.set_memory_growth(gpu, True)


def _gpu_memory_mb() -> int | None:
    """Memory of the first GPU in MiB, as nvidia-smi reports it; None without one."""
    query = ["nvidia-smi", "--query-gpu=memory.total", "--format=csv,noheader,nounits"]
    try:
        return int(
            subprocess.run(
                query, capture_output=True, text=True, check=True
            ).stdout.split()[0]
        )
    except (OSError, subprocess.CalledProcessError, ValueError, IndexError):
        return None


def _summary(job: study.Job, root: Path) -> str:
    scores = artifacts.read_json(job.folder(root) / artifacts.METRICS_FILE)
    facts = artifacts.read_json(job.folder(root) / artifacts.RUN_FILE)
    return (
        f"test mean IoU (digits) {scores['mean_iou_digits']:.4f}, "
        f"{facts['epochs_run']} epochs"
    )


class Scheduler:
    """Runs jobs ``parallel`` at a time, each in its own process, and prints progress
    with an estimate of the rest."""

    def __init__(
        self,
        args: argparse.Namespace,
        jobs: list[study.Job],
        retrain: frozenset[str] = frozenset(),
    ) -> None:
        """``retrain``: labels of the jobs whose folders older code wrote, to
        replace."""
        self.args, self.jobs, self.retrain = args, jobs, retrain
        self.logs = args.artifacts / "logs"
        self.waiting, self.running = list(jobs), {}
        self.failures: list[str] = []
        self.durations: list[float] = []
        self.started: dict[str, float] = {}
        self.start = time.perf_counter()

    def run(self) -> list[str]:
        """Run every job; return the labels of those that failed. Interrupted, it stops
        the workers first."""
        self.logs.mkdir(parents=True, exist_ok=True)
        try:
            while self.waiting or self.running:
                while self.waiting and len(self.running) < self.args.parallel:
                    self._start(self.waiting.pop(0))
                time.sleep(0.5)
                for process in [
                    process for process in self.running if process.poll() is not None
                ]:
                    self._finish(process)
        finally:  # Ctrl-C or a time limit's SIGTERM: these runs resume next time
            for process in self.running:
                process.terminate()
            for process in self.running:  # gone before anyone collects the run folders
                process.wait(timeout=60)
        return self.failures

    def _start(self, job: study.Job) -> None:
        log = (self.logs / f"{job.run}-seed-{job.seed}.log").open(
            "a"
        )  # a resumed run adds to its log
        command = [
            sys.executable,
            __file__,
            str(self.args.manifest),
            "--worker",
            job.run,
            str(job.seed),
        ]
        command += ["--artifacts", str(self.args.artifacts)] + (
            ["--quick"] if self.args.quick else []
        )
        command += ["--threads", str(self.args.threads)] if self.args.threads else []
        command += ["--retrain"] if job.label in self.retrain else []
        share = f"{0.9 / self.args.parallel:.3f}"
        env = {
            **os.environ,
            "XLA_PYTHON_CLIENT_MEM_FRACTION": share,
            MEMORY_SHARE_ENV: share,
        }
        self.running[
            subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
        ] = (job, log)
        self.started[job.label] = time.perf_counter()
        print(
            f"started  {job.label} (log: {config.display_path(log.name)})", flush=True
        )

    def _finish(self, process: subprocess.Popen) -> None:
        job, log = self.running.pop(process)
        log.close()
        self.durations.append(time.perf_counter() - self.started[job.label])
        if process.returncode == 0:
            outcome = _summary(job, self.args.artifacts)
        else:
            self.failures.append(job.label)
            tail = "".join(Path(log.name).read_text().splitlines(keepends=True)[-15:])
            outcome = (
                f"FAILED (exit {process.returncode}); last lines of "
                f"{config.display_path(log.name)}:\n{tail}"
            )
        remaining = len(self.waiting) + len(self.running)
        left = (
            sum(self.durations) / len(self.durations) * remaining / self.args.parallel
        )
        print(
            f"finished {job.label} in {self.durations[-1]:.0f} s: {outcome}\n"
            f"  [{len(self.jobs) - remaining}/{len(self.jobs)} done, "
            f"{time.perf_counter() - self.start:.0f} s so far, "
            f"about {left:.0f} s left]",
            flush=True,
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("manifest", nargs="?", type=Path, default=study.BOOK_MANIFEST)
    parser.add_argument(
        "--quick",
        action="store_true",
        help="every run in the quick profile, into a scratch folder",
    )
    parser.add_argument(
        "--parallel",
        type=int,
        default=1,
        help="runs side by side, each in its own process",
    )
    parser.add_argument(
        "--artifacts",
        type=Path,
        help="where runs go (default: artifacts/, or a scratch folder)",
    )
    parser.add_argument(
        "--threads",
        type=int,
        help="TensorFlow threads per run (CPU: e.g. one per core, --parallel 2)",
    )
    parser.add_argument(
        "--report",
        action="store_true",
        help="print how many runs are finished and their training time, then stop",
    )
    parser.add_argument(
        "--retrain-stale",
        action="store_true",
        help="train again the committed runs that older code made (replacing them)",
    )
    parser.add_argument(
        "--worker", nargs=2, metavar=("RUN", "SEED"), help=argparse.SUPPRESS
    )
    parser.add_argument("--retrain", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    signal.signal(
        signal.SIGTERM, lambda *_: sys.exit(143)
    )  # a time limit stops the study as Ctrl-C would
    mode = "quick" if args.quick else "full"
    if args.parallel < 1:
        parser.error(f"--parallel must be at least 1, got {args.parallel}")
    args.artifacts = args.artifacts or config.artifacts_dir(config.PROFILES[mode])
    try:
        manifest = study.read_manifest(args.manifest)
        if args.report:
            print(study.time_report(manifest, args.artifacts))
            return 0
        if args.worker:
            job = next(
                job for job in manifest.jobs if [job.run, str(job.seed)] == args.worker
            )
            run_job(manifest, job, mode, args.artifacts, args.threads, args.retrain)
            return 0
        manifest.dataset()  # generated once here; the workers read it from the cache
        states = study.plan(manifest, mode, args.artifacts)
    except ValueError as error:
        print(f"study: {error}", file=sys.stderr)
        return 2
    stale = [job.label for job in states["stale"]]
    if stale and runs.is_committed(args.artifacts) and not args.retrain_stale:
        print(
            f"study: {len(stale)} committed runs in "
            f"{config.display_path(args.artifacts)} were made by older code: "
            f"{', '.join(stale)}; nothing was started. Pass --retrain-stale to train "
            "them again (their folders are replaced).",
            file=sys.stderr,
        )
        return 2
    todo = study.training_order(
        states["unfinished"], manifest.jobs
    ) + study.training_order(states["stale"] + states["new"], manifest.jobs)
    print(
        f"Study '{manifest.name}' ({mode}): {len(manifest.jobs)} runs in "
        f"{config.display_path(args.artifacts)}; "
        f"{len(states['finished'])} finished (skipped), {len(states['unfinished'])} to "
        "resume, "
        f"{len(states['stale'])} made by older code (trained again), "
        f"{len(states['new'])} to train, "
        f"{args.parallel} side by side",
        flush=True,
    )
    start = time.perf_counter()
    failures = Scheduler(args, todo, frozenset(stale)).run()
    print(
        f"Study '{manifest.name}' done in {time.perf_counter() - start:.0f} s; "
        f"{len(failures)} failed",
        flush=True,
    )
    if failures:
        print("failed: " + ", ".join(failures), file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
