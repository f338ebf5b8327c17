"""The poll-task helpers: cancel until ended, restart a poll that raised, wait for the
first of several events."""

from __future__ import annotations

import asyncio
import logging

from edge.tasks import cancel_and_wait, first_of, keep_polling


def test_a_poll_task_that_crashes_is_restarted_and_the_others_go_on(caplog):
    async def go():
        runs = []

        async def flaky() -> None:
            runs.append(1)
            if len(runs) == 1:
                raise ZeroDivisionError("a bug in a decoder")
            await asyncio.sleep(10)

        other = asyncio.Event()

        async def healthy() -> None:
            await asyncio.sleep(0.1)
            other.set()

        tasks = [
            asyncio.create_task(keep_polling("flaky", flaky)),
            asyncio.create_task(healthy()),
        ]
        await asyncio.wait_for(other.wait(), 2)
        await asyncio.sleep(1.2)
        assert len(runs) == 2  # restarted after its one-second pause
        await cancel_and_wait(tasks)

    asyncio.run(go())
    assert "flaky poll task failed; restarting it in 1 s" in caplog.text
    assert "ZeroDivisionError: a bug in a decoder" in caplog.text


def test_a_cancelled_poll_is_not_restarted():
    async def go():
        runs = []

        async def poll() -> None:
            runs.append(1)
            await asyncio.sleep(10)

        task = asyncio.create_task(keep_polling("inverter", poll))
        await asyncio.sleep(0.05)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        assert task.cancelled() and runs == [1]

    asyncio.run(go())


def test_a_poll_that_returns_is_run_again_at_once():
    async def go():
        runs = []
        enough = asyncio.Event()

        async def one_poll() -> None:  # a run() that ends by itself, without an error
            runs.append(1)
            if len(runs) == 3:
                enough.set()
            await asyncio.sleep(0)

        task = asyncio.create_task(keep_polling("bms", one_poll))
        await asyncio.wait_for(enough.wait(), 0.5)  # well inside the 1 s pause after a bug
        await cancel_and_wait([task])
        assert len(runs) >= 3

    asyncio.run(go())


def test_a_task_that_loses_a_cancel_is_cancelled_again():
    async def go():
        swallowed = []

        async def poll_like_wait_for_in_3_11() -> None:
            while True:
                try:
                    await asyncio.sleep(10)
                except asyncio.CancelledError:
                    if not swallowed:  # the first cancel is lost, as wait_for may lose it
                        swallowed.append(1)
                        continue
                    raise

        task = asyncio.create_task(poll_like_wait_for_in_3_11())
        await asyncio.sleep(0.05)
        await asyncio.wait_for(cancel_and_wait([task]), 5)
        assert task.cancelled() and swallowed == [1]

    asyncio.run(go())


def test_tasks_already_ended_are_left_as_they_are():
    async def go():
        async def quick() -> int:
            return 7

        done = asyncio.create_task(quick())
        await done
        running = asyncio.create_task(asyncio.sleep(10))
        await asyncio.wait_for(cancel_and_wait([done, running]), 1.0)
        assert done.result() == 7 and not done.cancelled()
        assert running.cancelled()

    asyncio.run(go())


def test_a_task_that_never_ends_is_named_after_the_last_try(caplog):
    async def go():
        release = asyncio.Event()

        async def stubborn() -> None:
            while not release.is_set():
                try:
                    await asyncio.sleep(10)
                except asyncio.CancelledError:
                    continue  # every cancel lost

        task = asyncio.create_task(stubborn(), name="bms-poll")
        await asyncio.sleep(0.01)
        with caplog.at_level(logging.ERROR, logger="edge"):
            await cancel_and_wait([task], tries=2)  # two cancels, each waited on 0.5 s
        assert not task.done()
        release.set()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    asyncio.run(go())
    assert "tasks still running after 2 cancels: bms-poll" in caplog.text


def test_first_of_returns_on_the_first_event_set():
    async def go():
        fresh, wake, stop = asyncio.Event(), asyncio.Event(), asyncio.Event()
        loop = asyncio.get_running_loop()
        loop.call_later(0.05, wake.set)
        t0 = loop.time()
        await first_of((stop, fresh, wake), timeout_s=5.0)
        assert loop.time() - t0 < 1.0  # not the timeout
        assert wake.is_set() and not fresh.is_set() and not stop.is_set()

    asyncio.run(go())


def test_first_of_returns_after_the_timeout_when_nothing_happens():
    async def go():
        events = (asyncio.Event(), asyncio.Event())
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        await first_of(events, timeout_s=0.2)
        elapsed = loop.time() - t0
        assert 0.19 <= elapsed < 1.0
        assert not any(e.is_set() for e in events)
        await asyncio.sleep(0)  # let the cancelled waits finish
        # No waiter is left behind on the events (one per tick would pile up for months).
        assert [t for t in asyncio.all_tasks() if t is not asyncio.current_task()] == []

    asyncio.run(go())


def test_first_of_an_event_already_set_returns_at_once():
    async def go():
        stop = asyncio.Event()
        stop.set()
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        await first_of((asyncio.Event(), stop), timeout_s=5.0)
        assert loop.time() - t0 < 0.5

    asyncio.run(go())
