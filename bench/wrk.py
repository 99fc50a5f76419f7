"""The load generator: wrk (C, event loop), driven by bench/requests.lua.

wrk keeps a fixed number of keep-alive connections busy for a fixed time and measures
each request's latency; being C, it leaves the Python server nearly all the CPU. The Lua
script deals the prepared requests out over wrk's threads and prints the result as JSON.
"""

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent / "requests.lua"
MARKER = "BENCH_RESULT "


def ensure_wrk() -> str:
    """The path of wrk, installed from Debian's archive when missing (needs root)."""
    found = shutil.which("wrk")
    if found:
        return found
    print("wrk is missing: apt-get install -y wrk", flush=True)
    quiet = {"stdout": subprocess.DEVNULL}
    if subprocess.run(["apt-get", "install", "-y", "wrk"], check=False, **quiet).returncode != 0:
        subprocess.run(["apt-get", "update"], check=True, **quiet)
        subprocess.run(["apt-get", "install", "-y", "wrk"], check=True, **quiet)
    found = shutil.which("wrk")
    if not found:
        raise SystemExit("wrk could not be installed; install it (apt-get install wrk) and run again")
    return found


def wrk_version(wrk: str) -> str:
    # wrk prints its version in the usage text, on stderr, and exits non-zero.
    output = subprocess.run([wrk, "--version"], capture_output=True, text=True, check=False)
    return (output.stdout + output.stderr).splitlines()[0].strip()


@dataclass(frozen=True)
class WrkResult:
    requests: int
    seconds: float
    statuses: dict[int, int]
    socket_errors: dict[str, int]
    latency_ms: dict[str, float]  # mean, max, p50, p90, p95, p99, p99.9
    wraps: int  # times a thread ran through its share of the requests and started over

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def errors(self, expect: frozenset[int]) -> int:
        """Responses with a status outside `expect`, plus connect/read/write/timeout errors."""
        unexpected = sum(n for status, n in self.statuses.items() if status not in expect)
        return unexpected + sum(self.socket_errors.values())


def parse(output: str) -> WrkResult:
    lines = [line for line in output.splitlines() if line.startswith(MARKER)]
    if not lines:
        raise RuntimeError(f"wrk printed no result:\n{output}")
    raw = json.loads(lines[-1][len(MARKER) :])
    latency = raw["latency_us"]
    ms = {"mean": latency["mean"] / 1000, "max": latency["max"] / 1000}
    for p, value in latency["percentiles"].items():
        ms[f"p{p}"] = value / 1000
    return WrkResult(
        requests=raw["requests"],
        seconds=raw["duration_us"] / 1e6,
        statuses={int(status): n for status, n in raw["statuses"].items()},
        socket_errors=raw["socket_errors"],
        latency_ms=ms,
        wraps=raw["wraps"],
    )


def run(
    *,
    wrk: str,
    base_url: str,
    requests_file: Path,
    threads: int,
    connections: int,
    seconds: float,
    timeout: float = 10.0,
) -> subprocess.Popen:
    """Start wrk; `finish(process)` waits for it and parses its result."""
    command = [
        wrk,
        f"--threads={threads}",
        f"--connections={connections}",
        f"--duration={max(1, round(seconds))}s",
        f"--timeout={max(1, round(timeout))}s",
        f"--script={SCRIPT}",
        base_url,
        "--",
        str(requests_file),
        str(threads),
    ]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def finish(process: subprocess.Popen, *, limit: float) -> WrkResult:
    try:
        output, _ = process.communicate(timeout=limit)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        raise RuntimeError(f"wrk ran over {limit:.0f}s and was stopped") from None
    if process.returncode != 0:
        raise RuntimeError(f"wrk failed ({process.returncode}):\n{output}")
    return parse(output)
