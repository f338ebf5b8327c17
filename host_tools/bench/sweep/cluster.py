"""Running a sweep's tasks: serially in this process (the reference), or on Dask
(dask.distributed): a LocalCluster of one single-threaded worker process per core, or an
existing cluster's scheduler (tcp://HOST:PORT; its workers need this package installed).

Either way a bar shows the tasks done and remaining, and the results come back ordered by
task key, never by when they finished: a cluster's report is the serial run's.
"""

from __future__ import annotations

import importlib
import os
from typing import Any

from tqdm import tqdm

from host_tools.bench.sweep.tasks import SweepError, Task, run_task


def _bar(total: int, where: str) -> tqdm[Any]:
    return tqdm(total=total, desc=f"bench sweep ({where})", unit="task", dynamic_ncols=True)


def _ordered(tasks: list[Task], results: dict[int, dict[str, Any]]) -> list[dict[str, Any]]:
    order = sorted(range(len(tasks)), key=lambda k: tasks[k].key)
    return [results[k] for k in order]


def serial(tasks: list[Task]) -> list[dict[str, Any]]:
    results: dict[int, dict[str, Any]] = {}
    with _bar(len(tasks), "serial") as bar:
        for k, task in enumerate(tasks):
            results[k] = run_task(task)
            bar.update(1)
    return _ordered(tasks, results)


def on_dask(
    tasks: list[Task],
    scheduler: str | None = None,
    workers: int | None = None,
    connect_timeout_s: float = 30.0,
) -> tuple[list[dict[str, Any]], str]:
    """The tasks on a cluster: (results in key order, what ran them)."""
    # distributed has no type hints: its few calls here are typed by what they return.
    dask: Any = importlib.import_module("dask")
    dd: Any = importlib.import_module("distributed")
    cluster: Any = None
    if scheduler is None:
        n = workers or os.cpu_count() or 1
        # The workers' statistical profiler feeds only the dashboard, and it keeps a
        # profile a second for the last 1000 s: ~30 MB a worker in a long task. Off (the
        # nannies hand this config to the worker processes).
        dask.config.set({"distributed.worker.profile.enabled": False})
        cluster = dd.LocalCluster(
            n_workers=n,
            threads_per_worker=1,
            processes=True,
            # No dashboard, and the scheduler's small HTTP server on a free port rather
            # than 8787: the machine may be shared.
            dashboard_address=None,
            scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
        )
        client = dd.Client(cluster)
        where = f"LocalCluster, {n} worker processes"
    else:
        if not scheduler.startswith(("tcp://", "tls://")) or ":" not in scheduler[6:]:
            raise SweepError(f"--scheduler {scheduler!r}: write tcp://HOST:PORT")
        try:
            client = dd.Client(scheduler, timeout=f"{connect_timeout_s:g}s")
        except OSError as exc:
            first = str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__
            raise SweepError(
                f"--scheduler {scheduler}: no Dask scheduler there ({first})"
            ) from None
        where = f"scheduler {scheduler}"
    try:
        # Houses interleaved: workers starting together build different houses' load
        # years (richardsonpy, ~10 s each, then cached), not the same one twice.
        # pure=False: two equal tasks (none should be) still both run.
        order = sorted(range(len(tasks)), key=lambda k: (*tasks[k].key[1:][::-1], tasks[k].key[0]))
        futures = client.map(run_task, [tasks[k] for k in order], pure=False)
        index = {f.key: k for k, f in zip(order, futures, strict=True)}
        results: dict[int, dict[str, Any]] = {}
        with _bar(len(tasks), where) as bar:
            for fut in dd.as_completed(futures):
                results[index[fut.key]] = fut.result()
                bar.update(1)
                fut.release()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    return _ordered(tasks, results), where
