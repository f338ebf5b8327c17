"""The control benchmark's independent units on every core.

`Jobs(n)` runs units (module-level functions and picklable arguments) in a pool of n
spawned processes, or, with n = 1, one after another in the caller's own process. The
same functions run either way and the caller sums their results in its own fixed order,
so a run gives the same numbers whatever n is: parallelism changes when a unit runs,
never what it computes or the order its results are added in.

A unit reports progress with `tick(n)` from wherever it runs: in a worker through a
queue that a thread of the caller drains into its progress bar, in the caller straight
to the bar. `then(futures, fn)` calls fn with their results in the caller once all are
done, for units that need others' results (the optimum needs ours' trace); fn may
submit more units. `run()` waits until no such function is left.

A unit can also hand the caller what it has so far, before it is done: `publish(topic,
item)` goes the way tick() does, and `watch(topic, fn)` has run() call fn(item) in the
caller as items arrive, in the order they were published (fn may submit more units: the
optimum's days start while ours' year still runs). An item can arrive after its unit's
result, so a then() function of that unit must not count on having seen them all.
"""

from __future__ import annotations

import multiprocessing
import sys
import threading
import time
import traceback
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class _Item:
    topic: str
    item: Any


# Where tick(), publish() and a unit's CPU time go in this process: an int is steps
# done, an _Item a published item, a (unit, CPU seconds) pair a unit's cost.
_sink: Callable[[int | _Item | tuple[str, float]], Any] | None = None
WATCH_POLL_S = 0.25  # run() looks for published items this often while units run


def tick(n: int = 1) -> None:
    """n more steps done (a no-op where nothing watches)."""
    if _sink is not None and n:
        _sink(n)


def publish(topic: str, item: Any) -> None:
    """Hand the caller an item (picklable) as the unit goes (a no-op outside Jobs)."""
    if _sink is not None:
        _sink(_Item(topic, item))


def _init_worker(queue: Any) -> None:
    global _sink
    _sink = queue.put


def _label(fn: Callable[..., Any], args: tuple[Any, ...]) -> str:
    """The unit as the summary names it: the function and its named arguments."""
    named = [a if isinstance(a, str) else getattr(a, "name", None) for a in args]
    return f"{fn.__name__}({', '.join(a for a in named if isinstance(a, str))})"


def _call(fn: Callable[..., Any], args: tuple[Any, ...], ticks: int) -> Any:
    start_s = time.process_time()
    out = fn(*args)
    if _sink is not None:
        _sink((_label(fn, args), time.process_time() - start_s))
    tick(ticks)
    return out


@dataclass
class _After:
    futures: list[Future[Any]]
    fn: Callable[[list[Any]], None]


class Jobs:
    """A pool of `jobs` processes (1: the caller's own), ticking `bar` (tqdm or None).
    keep_going: a unit's error does not end the run: run() names the unit (failed) and
    skips the then() functions waiting for it, and the others go on (their results are
    kept); else it is raised from run()."""

    def __init__(self, jobs: int, bar: Any = None, keep_going: bool = False) -> None:
        if jobs < 1:
            raise ValueError(f"jobs: at least 1 process, not {jobs}")
        self.jobs = jobs
        self.bar = bar
        self.keep_going = keep_going
        self.failed: list[str] = []  # "unit: error", as units fail (keep_going)
        self._after: list[_After] = []
        self._pool: ProcessPoolExecutor | None = None
        self._queue: Any = None
        self._drain: threading.Thread | None = None
        self._saved: Callable[[int | _Item | tuple[str, float]], Any] | None = None
        self.cpu_s: list[tuple[str, float]] = []  # each unit's CPU time, as they finish
        self._start_s = 0.0
        self._futures: list[Future[Any]] = []  # the units sent to the workers
        self._labels: dict[Future[Any], str] = {}
        self._arrived = threading.Condition()  # a unit's CPU time came through the queue
        self._watchers: dict[str, list[Callable[[Any], None]]] = {}
        self._items: list[_Item] = []  # published, not yet handed to a watcher
        self._items_lock = threading.Lock()

    def _update(self, n: int | _Item | tuple[str, float]) -> None:
        if isinstance(n, _Item):
            with self._items_lock:
                self._items.append(n)
        elif isinstance(n, tuple):
            with self._arrived:
                self.cpu_s.append(n)
                self._arrived.notify_all()
        elif self.bar is not None:
            self.bar.update(n)

    def summary(self) -> str:
        """What the units cost: CPU time in all and the longest unit's (the least wall
        time any number of processes could take), against the wall time so far."""
        wall_s = time.perf_counter() - self._start_s
        total_s = sum(s for _, s in self.cpu_s)
        name, longest_s = max(self.cpu_s, key=lambda u: u[1], default=("none", 0.0))
        return (
            f"{len(self.cpu_s)} units on {self.jobs} process(es): {total_s:.1f} s of CPU in"
            f" {wall_s:.1f} s; the longest unit {longest_s:.1f} s ({name})"
        )

    def __enter__(self) -> Jobs:
        global _sink
        self._start_s = time.perf_counter()
        if self.jobs == 1:
            self._saved, _sink = _sink, self._update
            return self
        # Spawned, not forked: a worker starts from the arguments alone, inheriting
        # nothing of the caller's state (nor its threads' locks).
        ctx = multiprocessing.get_context("spawn")
        self._queue = ctx.SimpleQueue()
        self._pool = ProcessPoolExecutor(
            self.jobs, mp_context=ctx, initializer=_init_worker, initargs=(self._queue,)
        )
        self._drain = threading.Thread(target=self._drain_ticks, daemon=True)
        self._drain.start()
        return self

    def _drain_ticks(self) -> None:
        while (n := self._queue.get()) is not None:
            self._update(n)

    def __exit__(self, *exc: object) -> None:
        global _sink
        if self._pool is None:
            _sink = self._saved
            return
        if exc[0] is not None:
            self._stop()
            return
        self._pool.shutdown(wait=True)
        self._queue.put(None)
        if self._drain is not None:
            self._drain.join()
        self._queue.close()

    def _stop(self) -> None:
        """A unit failed or the run was interrupted: end the workers now rather than wait
        for their units (a controller's year runs for half an hour), and leave the drain
        thread (a daemon) be: a worker ended mid-tick may hold the queue's lock."""
        assert self._pool is not None
        # The executor has no public way to end its workers before Python 3.14.
        workers = list((self._pool._processes or {}).values())
        self._pool.shutdown(wait=False, cancel_futures=True)
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.join()

    def submit(self, fn: Callable[..., Any], *args: Any, ticks: int = 0) -> Future[Any]:
        """fn(*args) as a unit; ticks: steps to tick once it is done (a unit that ticks
        as it goes passes 0)."""
        if self._pool is None:
            done: Future[Any] = Future()
            try:
                done.set_result(_call(fn, args, ticks))
            except Exception as exc:
                if not self.keep_going:
                    raise
                done.set_exception(exc)
                self._fail(_label(fn, args), exc)
            return done
        future = self._pool.submit(_call, fn, args, ticks)
        self._futures.append(future)
        self._labels[future] = _label(fn, args)
        return future

    def _fail(self, unit: str, exc: BaseException) -> None:
        """A unit failed and the run goes on (keep_going): name it, with its traceback."""
        self.failed.append(f"{unit}: {type(exc).__name__}: {exc}")
        print(f"\nbench: {unit} failed; the other units go on:", file=sys.stderr)
        traceback.print_exception(exc, file=sys.stderr)

    def watch(self, topic: str, fn: Callable[[Any], None]) -> None:
        """fn(item) in the caller, in run(), for each item published under topic."""
        self._watchers.setdefault(topic, []).append(fn)

    def _dispatch(self) -> None:
        with self._items_lock:
            items, self._items = self._items, []
        for it in items:
            for fn in self._watchers.get(it.topic, []):
                fn(it.item)

    def then(self, futures: list[Future[Any]], fn: Callable[[list[Any]], None]) -> None:
        """fn([each future's result]) in the caller, in run(), once all are done."""
        self._after.append(_After(list(futures), fn))

    def run(self) -> None:
        """Call then()'s functions as their futures complete, until none is left (a
        unit's error is raised here, unless keep_going)."""
        # Every unit's end matters where a failure is named as it happens (keep_going) or
        # a running unit may publish (watch).
        every = self.keep_going or bool(self._watchers)
        while self._after or (every and any(not f.done() for f in self._futures)):
            pending = {f for a in self._after for f in a.futures if not f.done()}
            if every:
                pending |= {f for f in self._futures if not f.done()}
            if pending:
                poll_s = WATCH_POLL_S if self._watchers else None
                wait(pending, timeout=poll_s, return_when=FIRST_COMPLETED)
            self._dispatch()
            self._named()
            ready = [a for a in self._after if all(f.done() for f in a.futures)]
            for a in ready:
                self._after.remove(a)
                if self.keep_going and any(f.exception() is not None for f in a.futures):
                    continue  # what waits for a failed unit cannot run
                a.fn([f.result() for f in a.futures])
        self._settle()
        self._dispatch()
        self._named()

    def _named(self) -> None:
        """Name the workers' units that have failed since the last call (keep_going)."""
        if not self.keep_going:
            return
        for future, unit in list(self._labels.items()):
            if future.done():
                del self._labels[future]
                exc = future.exception()
                if exc is not None:
                    self._fail(unit, exc)

    def _settle(self, timeout_s: float = 30.0) -> None:
        """Wait until every unit sent to the workers is done and its CPU time has come
        through the queue: a worker puts it there before it returns, but the drain thread
        may not have read it yet when the result arrives (summary() then missed a unit)."""
        if self._pool is None:
            return
        wait(self._futures)
        ok = sum(f.exception() is None for f in self._futures)
        with self._arrived:
            self._arrived.wait_for(lambda: len(self.cpu_s) >= ok, timeout_s)
