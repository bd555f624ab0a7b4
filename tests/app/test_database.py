"""The coalescing ping: shared round trips, but never one that started before the caller."""

import asyncio

import asyncpg
import pytest
from prometheus_client import REGISTRY

from test_app.database import Coalescer, Target
from test_app.settings import load_settings


class Work:
    """A fake round trip that records when each run starts and can be released by the test."""

    def __init__(self):
        self.starts: list[int] = []
        self.gates: list[asyncio.Event] = []
        self.fail_next = False
        self.running = 0
        self.max_running = 0

    async def __call__(self):
        gate = asyncio.Event()
        self.gates.append(gate)
        self.starts.append(len(self.starts))
        self.running += 1
        self.max_running = max(self.max_running, self.running)
        try:
            await gate.wait()
            if self.fail_next:
                self.fail_next = False
                raise ConnectionError("database went away")
        finally:
            self.running -= 1


async def settle():
    for _ in range(5):
        await asyncio.sleep(0)


async def test_callers_during_a_run_wait_for_the_next_run_not_the_current_one():
    work = Work()
    coalescer = Coalescer(work)
    first = asyncio.create_task(coalescer.run())
    await settle()
    assert len(work.starts) == 1
    # Arrives while run 0 is in flight: must not be answered by run 0.
    late = [asyncio.create_task(coalescer.run()) for _ in range(10)]
    await settle()
    work.gates[0].set()
    await settle()
    assert first.done()
    assert not any(task.done() for task in late), "answered by a round trip older than the request"
    assert len(work.starts) == 2, "one shared follow-up run for all late callers"
    work.gates[1].set()
    await asyncio.gather(*late)
    assert work.max_running == 1
    assert len(work.starts) == 2


async def test_an_idle_coalescer_starts_a_run_for_each_new_caller():
    work = Work()
    coalescer = Coalescer(work)
    for expected in (1, 2, 3):
        task = asyncio.create_task(coalescer.run())
        await settle()
        work.gates[-1].set()
        await task
        assert len(work.starts) == expected


async def test_failures_reach_every_caller_of_that_run_and_only_them():
    work = Work()
    coalescer = Coalescer(work)
    first = asyncio.create_task(coalescer.run())
    await settle()
    late = [asyncio.create_task(coalescer.run()) for _ in range(3)]
    await settle()
    work.gates[0].set()
    await first
    work.fail_next = True
    work.gates[1].set()
    results = await asyncio.gather(*late, return_exceptions=True)
    assert all(isinstance(r, ConnectionError) for r in results)
    again = asyncio.create_task(coalescer.run())
    await settle()
    work.gates[2].set()
    await again


async def test_a_cancelled_caller_does_not_break_the_run_for_others():
    work = Work()
    coalescer = Coalescer(work)
    first = asyncio.create_task(coalescer.run())
    await settle()
    shared = [asyncio.create_task(coalescer.run()) for _ in range(2)]
    await settle()
    shared[0].cancel()  # a client that went away while waiting
    work.gates[0].set()
    await settle()
    work.gates[1].set()
    await asyncio.wait_for(shared[1], 1)
    await first
    with pytest.raises(asyncio.CancelledError):
        await shared[0]


def target_whose_query(fails_with: BaseException | None, started: asyncio.Event) -> Target:
    """A writer Target whose round trip raises `fails_with`, or hangs when it is None."""
    settings = load_settings({})
    target = Target("writer", settings.writer, settings)

    async def fetchval(_query):
        started.set()
        if fails_with is None:
            await asyncio.Event().wait()
        else:
            raise fails_with

    target.fetchval = fetchval  # type: ignore[method-assign]
    return target


@pytest.mark.parametrize(
    "error",
    [
        asyncpg.exceptions.InternalClientError("cannot switch to state 12"),
        RuntimeError("anything else"),
    ],
)
async def test_any_failure_of_a_ping_is_down_not_an_exception(error):
    assert await target_whose_query(error, asyncio.Event()).ping() is False


async def test_a_cancelled_ping_is_cancelled_not_down():
    started = asyncio.Event()
    ping = asyncio.create_task(target_whose_query(None, started).ping())
    await started.wait()
    ping.cancel()
    with pytest.raises(asyncio.CancelledError):
        await ping


async def test_a_caller_arriving_mid_ping_waits_one_timeout_not_two():
    """The database hangs. A caller that arrives while a ping is in flight joins the next ping;
    it gets DOWN when its own timeout ends, before that next ping has timed out too."""
    settings = load_settings({"PING_TIMEOUT_SECONDS": "0.4"})
    target = Target("writer", settings.writer, settings)
    started: list[float] = []

    async def hang(_query):
        started.append(asyncio.get_running_loop().time())
        await asyncio.Event().wait()

    target.fetchval = hang  # type: ignore[method-assign]
    first = asyncio.create_task(target.ping())
    await asyncio.sleep(0.2)  # mid-ping
    assert await target.ping() is False
    assert len(started) == 2, "the next ping had not even started"
    assert target._ping._in_flight, "the caller waited for the next ping to time out too"  # noqa: SLF001
    assert await first is False


def target_whose_attempts(*outcomes: BaseException | int) -> tuple[Target, list[int]]:
    """A writer Target whose pooled attempts raise or return `outcomes` in turn."""
    settings = load_settings({})
    target = Target("writer", settings.writer, settings)
    calls: list[int] = []

    async def attempt(_query):
        calls.append(1)
        outcome = outcomes[len(calls) - 1]
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    target._fetchval_once = attempt  # type: ignore[method-assign]  # noqa: SLF001 - one attempt
    return target, calls


@pytest.mark.parametrize(
    "ended",
    [
        asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed"),
        asyncpg.exceptions.AdminShutdownError("terminating connection due to administrator"),
        asyncpg.exceptions.InterfaceError("connection has been released back to the pool"),
        asyncpg.exceptions.InternalClientError("cannot switch to state 12"),
    ],
)
async def test_a_pooled_connection_the_server_ended_is_retried_once_on_another(ended):
    target, calls = target_whose_attempts(ended, 1)
    assert await target.ping() is True
    assert len(calls) == 2


async def test_an_ended_connection_twice_is_down():
    ended = asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed")
    target, calls = target_whose_attempts(ended, ended)
    assert await target.ping() is False
    assert len(calls) == 2


@pytest.mark.parametrize(
    "error",
    [
        ConnectionRefusedError("the database is down"),
        asyncpg.exceptions.InvalidPasswordError("password authentication failed"),
        RuntimeError("anything else"),
    ],
)
async def test_other_failures_are_not_retried(error):
    target, calls = target_whose_attempts(error, 1)
    assert await target.ping() is False
    assert len(calls) == 1


def pool_gauge(name: str) -> float | None:
    return REGISTRY.get_sample_value(f"test_app_db_pool_{name}", {"target": "writer"})


@pytest.mark.integration
async def test_a_partial_warm_up_gives_back_what_it_opened_and_says_so(postgres, capsys):
    """POOL_MIN_SIZE=3 for a role allowed 2 connections: two open, the third is refused."""
    role = "warm_limited"
    postgres.primary.sql(
        f"DROP ROLE IF EXISTS {role}; "
        f"CREATE ROLE {role} LOGIN PASSWORD 'warm-pass' CONNECTION LIMIT 2"
    )
    env = {
        **postgres.env(reader=False),
        "POSTGRESQL_USER": role,
        "POSTGRESQL_PASSWORD": "warm-pass",
        "POOL_MIN_SIZE": "3",
    }
    target = Target("writer", load_settings(env).writer, load_settings(env))
    await target.open()
    try:
        target.publish_pool_metrics()
        assert pool_gauge("size") == 2  # both opened, and both given back:
        assert pool_gauge("in_use") == 0, "a warm-up connection was never released"
        assert await target.ping()
        assert "pool warm-up incomplete" in capsys.readouterr().out
    finally:
        await target.close()
        postgres.primary.sql(f"DROP ROLE {role}")
