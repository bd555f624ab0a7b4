"""Open-model load with httperf: requests at a constant rate, answered or not.

New requests start whether or not earlier ones have been answered, so queueing in the server
shows up as latency.
One request per connection (`--num-calls 1`); the latency of a request is httperf's connection
lifetime (connect + request + reply), read from its 1 ms histogram (`-v -v`). Rates above what
one httperf process sustains are split over several processes started together. A process still
running at the deadline (offer time + timeout + grace) is interrupted (SIGINT makes httperf print
its report); requests it had not sent count as not offered, those without an answer as errors.
A process that does not even answer SIGINT is killed and counted as lost: none of its requests
count as offered, so the run cannot pass.
"""

from __future__ import annotations

import math
import re
import signal
import subprocess
import time
from dataclasses import dataclass, field


# Requests/s one httperf process is asked for at most: httperf select()s over all its open
# connections, so fewer per process keeps each one on schedule when the server queues.
RATE_PER_PROCESS = 500.0
GRACE_S = 5.0  # seconds past offer time + timeout before a process is interrupted
KILL_AFTER_S = 15.0  # seconds after SIGINT before a process is killed


class HttperfError(RuntimeError):
    """httperf failed or printed something this parser does not understand."""


@dataclass(frozen=True)
class LoadResult:
    """What httperf counted for one constant-rate run (several processes merged)."""

    offered_rate: float  # requests/s asked for
    duration_s: float  # httperf's test duration (the longest process)
    planned: int  # requests it was asked to send
    connections: int  # requests sent: connections opened (client_limit ones never were)
    replies: int
    status_2xx: int
    status_other: int  # replies with any status but 2xx
    timeouts: int  # client-timo + socket-timo: no reply within the timeout
    refused: int
    reset: int
    client_limit: int  # fd-unavail + ftab-full + addrunavail: the load generator's own limits
    other_errors: int
    lost: int = 0  # processes killed without a report (their requests count as not sent)
    histogram: dict[int, int] = field(default_factory=dict)  # lower edge (ms) -> replies

    @property
    def unanswered(self) -> int:
        """Requests still waiting when the run was interrupted (0 when httperf finished)."""
        ended = self.replies + self.timeouts + self.refused + self.reset + self.other_errors
        return self.connections - ended

    @property
    def errors(self) -> int:
        """Requests the server failed: wrong status, no reply (in time), refused, reset, other."""
        failed = self.timeouts + self.refused + self.reset + self.other_errors
        return self.status_other + failed + self.unanswered

    def percentile_ms(self, share: float) -> float | None:
        """Upper edge (ms) of the 1 ms bin holding the `share` quantile of answered requests."""
        total = sum(self.histogram.values())
        if total == 0:
            return None
        wanted = math.ceil(share * total)
        seen = 0
        for lower, count in sorted(self.histogram.items()):
            seen += count
            if seen >= wanted:
                return float(lower + 1)
        raise AssertionError("unreachable: the cumulative count reaches the total")


def _number(pattern: str, text: str) -> float:
    match = re.search(pattern, text)
    if match is None:
        raise HttperfError(f"httperf output lacks {pattern!r}:\n{text}")
    return float(match.group(1))


def parse(output: str, offered_rate: float) -> LoadResult:
    """Parse the report of one `httperf -v -v` run."""
    histogram: dict[int, int] = {}
    block = re.search(
        r"Connection lifetime histogram \(time in ms\):\n(.*?)\n\S", output, re.DOTALL
    )
    if block:
        for line in block.group(1).splitlines():
            parts = line.split()
            if len(parts) == 2:
                histogram[math.floor(float(parts[0]))] = int(parts[1])
    line = re.search(r"^Reply status: (.*)$", output, re.MULTILINE)
    if line is None:
        raise HttperfError(f"httperf output lacks the reply status line:\n{output}")
    status = {key: int(value) for key, value in re.findall(r"(\dxx)=(\d+)", line.group(1))}
    errors = {key: int(value) for key, value in re.findall(r"([a-z-]+) (\d+)", _errors(output))}
    return LoadResult(
        offered_rate=offered_rate,
        duration_s=_number(r"test-duration ([\d.]+) s", output),
        planned=int(_number(r"--num-conns=(\d+)", output)),
        connections=int(_number(r"Total: connections (\d+)", output)),
        replies=int(_number(r"replies (\d+) test-duration", output)),
        status_2xx=status["2xx"],
        status_other=sum(v for k, v in status.items() if k != "2xx"),
        timeouts=errors["client-timo"] + errors["socket-timo"],
        refused=errors["connrefused"],
        reset=errors["connreset"],
        client_limit=errors["fd-unavail"] + errors["addrunavail"] + errors["ftab-full"],
        other_errors=errors["other"],
        histogram=histogram,
    )


def _errors(output: str) -> str:
    lines = [line for line in output.splitlines() if line.startswith("Errors:")]
    if len(lines) != 2:
        raise HttperfError(f"httperf output lacks its two `Errors:` lines:\n{output}")
    return " ".join(line.removeprefix("Errors:").replace("total", "") for line in lines)


def merge(results: list[LoadResult], offered_rate: float) -> LoadResult:
    """Several processes' results as one run."""
    histogram: dict[int, int] = {}
    for result in results:
        for lower, count in result.histogram.items():
            histogram[lower] = histogram.get(lower, 0) + count

    def total(name: str) -> int:
        return sum(getattr(result, name) for result in results)

    return LoadResult(
        offered_rate=offered_rate,
        duration_s=max(result.duration_s for result in results),
        planned=total("planned"),
        connections=total("connections"),
        replies=total("replies"),
        status_2xx=total("status_2xx"),
        status_other=total("status_other"),
        timeouts=total("timeouts"),
        refused=total("refused"),
        reset=total("reset"),
        client_limit=total("client_limit"),
        other_errors=total("other_errors"),
        lost=total("lost"),
        histogram=histogram,
    )


def command(url_port: int, path: str, rate: float, count: int, timeout: float) -> list[str]:
    """One httperf process: `count` requests at `rate`/s, one per connection."""
    # No --hog: with it httperf bind()s its own ports and spins once the ephemeral range is full
    # of TIME_WAIT sockets from earlier steps; plain connect() lets the kernel reuse them.
    return [
        *("httperf", "-v", "-v", "--server", "127.0.0.1", "--port", str(url_port)),
        *("--uri", path, "--rate", f"{rate:.3f}", "--num-conns", str(count)),
        *("--num-calls", "1", "--timeout", str(timeout)),
    ]


def lost(offered_rate: float, planned: int) -> LoadResult:
    """Stand in for a process killed without a report: nothing counts as sent."""
    return LoadResult(offered_rate, 0.0, planned, 0, 0, 0, 0, 0, 0, 0, 0, 0, lost=1)


def _report(process: subprocess.Popen[str], deadline: float) -> str | None:
    """Wait for the report; interrupt (SIGINT: httperf prints it) at the deadline.

    None when the process had to be killed.
    """
    try:
        output = process.communicate(timeout=max(0.0, deadline - time.monotonic()))[0]
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGINT)
        try:
            output = process.communicate(timeout=KILL_AFTER_S)[0]
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            return None
    if process.returncode not in (0, -signal.SIGINT):
        raise HttperfError(f"httperf exited with {process.returncode}:\n{output}")
    return output


def run(port: int, path: str, rate: float, seconds: float, timeout: float) -> LoadResult:
    """`rate` requests/s to `path` for `seconds`, split over enough httperf processes."""
    if rate <= 0 or seconds <= 0:
        raise ValueError(f"rate and seconds: expected positive numbers, got {rate}, {seconds}")
    processes = max(1, math.ceil(rate / RATE_PER_PROCESS))
    share = rate / processes
    count = max(1, round(share * seconds))
    running = [
        subprocess.Popen(
            command(port, path, share, count, timeout),
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        for _ in range(processes)
    ]
    deadline = time.monotonic() + seconds + timeout + GRACE_S
    outputs = [_report(process, deadline) for process in running]
    return merge(
        [lost(share, count) if out is None else parse(out, share) for out in outputs], rate
    )
