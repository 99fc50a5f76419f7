"""Measuring one scenario for `bench/run.py`: over HTTP with wrk against the server, or
in-process for a scenario that times its own work; the requests file wrk reads, the
CPU and broker readings on the side (`Side`), and the checks against the targets.
"""

import math
import resource
import statistics
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

from bench import wrk
from bench.server import Server, cpu_seconds, machine_busy_seconds
from bench.worker import CeleryWorker, broker_backlog


def http_fetch(base_url: str):
    """Requests sent outside the measurement (to learn ETags): [(status, lower-cased headers)]."""

    def one(request) -> tuple[int, dict[str, str]]:
        data = request.body.encode() if request.body else None
        sent = urllib.request.Request(base_url + request.path, data=data, method=request.method)
        sent.add_header("Accept", "application/json")
        if request.token:
            sent.add_header("Authorization", f"Bearer {request.token}")
        if request.etag:
            sent.add_header("If-None-Match", request.etag)
        try:
            # bandit B310 (url scheme): `sent` is built on the harness's own http://127.0.0.1 URL.
            with urllib.request.urlopen(sent, timeout=30) as response:  # nosec B310
                response.read()
                return response.status, {k.lower(): v for k, v in response.headers.items()}
        except urllib.error.HTTPError as error:
            error.read()
            return error.code, {k.lower(): v for k, v in error.headers.items()}

    def fetch(requests: list) -> list[tuple[int, dict[str, str]]]:
        with ThreadPoolExecutor(4) as pool:
            return list(pool.map(one, requests))

    return fetch


def client_fetch():
    from django.test import Client

    from bench.profiling import send

    client = Client(HTTP_HOST="127.0.0.1")

    def fetch(requests: list) -> list[tuple[int, dict[str, str]]]:
        answers = []
        for request in requests:
            response = send(client, request)
            answers.append((response.status_code, {k.lower(): v for k, v in response.headers.items()}))
        return answers

    return fetch


def write_requests(path: Path, requests: list, lanes: int) -> None:
    if not requests:
        raise RuntimeError(f"no requests were prepared for {path.name}")
    lines = [request.tsv() for request in requests]
    while len(lines) < lanes:  # every wrk thread needs at least one request
        lines += lines
    path.write_text("\n".join(lines) + "\n")


CHECK_SETTLE_SECONDS = 15


class Side:
    """Processes the run started besides the server (the Midtrans fake, the Celery worker,
    redis-server): their CPU time is accounted apart, not as other processes' load."""

    def __init__(self) -> None:
        self.processes: dict[str, Callable[[], list[int]]] = {}
        self.broker: tuple[str, str] | None = None  # (URL, queue) of the Celery broker
        self.worker: CeleryWorker | None = None  # paused while a scenario is measured

    def add(self, name: str, pids: Callable[[], list[int]]) -> None:
        self.processes[name] = pids

    def snapshot(self) -> dict[str, dict[int, float]]:
        snapshot = {}
        for name, pids in self.processes.items():
            snapshot[name] = {pid: used for pid in pids() if (used := cpu_seconds(pid)) is not None}
        return snapshot

    @staticmethod
    def used(before: dict, after: dict) -> dict[str, float]:
        return {
            name: sum(max(0.0, after[name].get(pid, 0.0) - before[name].get(pid, 0.0)) for pid in after[name])
            for name in after
        }

    def backlog(self) -> int | None:
        return broker_backlog(*self.broker) if self.broker else None

    @contextmanager
    def background_paused(self, row: dict):
        """The worker takes no task while the block runs (it would share the server's cores)."""
        if self.worker is None:
            yield
            return
        row["worker_pause_wait_s"] = round(self.worker.pause(), 2)
        try:
            yield
        finally:
            self.worker.resume()


def _target(scenario) -> dict:
    row = {"name": scenario.name, "title": scenario.title, "reference": scenario.name in ("bare", "bare-end")}
    if scenario.has_target:
        row["target"] = {
            "min_ratio": scenario.min_ratio,
            "max_p50_ms": scenario.max_p50_ms,
            "max_p99_ms": scenario.max_p99_ms,
            "zero_errors": scenario.zero_errors,
            "source": scenario.source,
        }
        row["target_text"] = scenario.target_text()
    return row


def _checked(workload, row: dict) -> None:
    """The scenario's own check of what its requests did, once the load has stopped."""
    from django.db import connections

    if workload.after is None:
        return
    # Requests wrk sent but stopped waiting for still run in the server for a moment: read
    # until two looks half a second apart agree (at most CHECK_SETTLE_SECONDS).
    deadline = time.monotonic() + CHECK_SETTLE_SECONDS
    try:
        facts = workload.after()
        while time.monotonic() < deadline:
            time.sleep(0.5)
            again = workload.after()
            if again == facts:
                break
            facts = again
    finally:
        connections.close_all()
    extra = facts.pop("errors", 0) or 0
    row["checked"] = facts
    row["checked_errors"] = extra
    row["errors"] += extra
    print(f"  checked: {facts}" + (f"; {extra} errors" if extra else ""), flush=True)


def percentile(ordered: list[float], p: float) -> float:
    """The p-th percentile of sorted values (nearest rank, as wrk reports)."""
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def measure_in_process(scenario, ctx, workload, row: dict, side: Side) -> dict:
    """An in-process scenario: the harness times the work itself (no server, no wrk)."""
    from django.db import connections

    with side.background_paused(row):
        side_before, busy_before, wall_before = side.snapshot(), machine_busy_seconds(), time.monotonic()
        try:
            timings = workload.run()
        finally:
            connections.close_all()
        wall = time.monotonic() - wall_before
        side_used = Side.used(side_before, side.snapshot())
    harness_cpu = sum(timings.cpu_ms) / 1000
    others = machine_busy_seconds() - busy_before - harness_cpu - sum(side_used.values())
    ordered = sorted(timings.wall_ms)
    count = len(ordered)
    latency = {"mean": statistics.fmean(ordered), "max": ordered[-1]}
    for p in (50, 90, 95, 99, 99.9):
        latency[f"p{p:g}"] = percentile(ordered, p)
    latency["p50"] = statistics.median(ordered)  # the target is the median
    seconds = sum(ordered) / 1000
    row.update(
        {
            "in_process": True,
            "requests": count,
            "seconds": round(seconds, 3),
            "rps": count / seconds if seconds else 0.0,
            "latency_ms": {k: round(v, 3) for k, v in latency.items()},
            "errors": timings.errors,
            "statuses": {},
            "socket_errors": {},
            "wraps": 0,
            "cpu_ms_per_request": {"harness": round(statistics.fmean(timings.cpu_ms), 3)},
            "cpu_ms_median": round(statistics.median(timings.cpu_ms), 3),
            "side_cpu_ms_per_request": {k: round(1000 * v / count, 3) for k, v in side_used.items()},
            "others_cores": round(max(0.0, others) / wall, 2),
            "facts": timings.facts,
            "note": workload.note,
            "repeatable": True,
        }
    )
    print(
        f"  {count} in-process, median {latency['p50']:.1f} ms (CPU {row['cpu_ms_median']:.1f} ms), "
        f"p95 {latency['p95']:.1f} ms; {timings.facts}",
        flush=True,
    )
    return row


def _measure_http(
    scenario, ctx, workload, row: dict, *, args, server: Server, wrk_path: str, workdir: Path, side: Side
) -> None:
    """Warm-up, then the measured wrk run, with what the server and the rest used meanwhile."""
    from django.db import connections

    conns = scenario.connections or args.connections
    threads = min(args.threads, conns)
    server.serve(connections=conns)
    common = {"wrk": wrk_path, "base_url": server.base_url, "threads": threads, "connections": conns}

    warm_rate = None
    if args.warmup > 0:
        warm = workdir / f"{scenario.name}.warm.tsv"
        write_requests(warm, workload.warmup or workload.requests, threads)
        warm_result = wrk.finish(
            wrk.run(**common, requests_file=warm, seconds=args.warmup), limit=args.warmup + 60
        )
        warm_rate = warm_result.rps
        if warm_result.errors(scenario.expect):
            print(f"  warm-up: statuses {warm_result.statuses}", flush=True)
    if workload.resize is not None:
        resized = time.monotonic()
        try:
            workload.requests = workload.resize(warm_rate)
        finally:
            connections.close_all()
        row["resize_s"] = round(time.monotonic() - resized, 1)
        print(
            f"  sized from the warm-up ({warm_rate or 0:.1f} req/s): {len(workload.requests)} requests, "
            f"prepared in {row['resize_s']:.1f}s",
            flush=True,
        )
    measured = workdir / f"{scenario.name}.tsv"
    write_requests(measured, workload.requests, threads)

    backlog_before = side.backlog()
    gateway_before = ctx.gateway.stats() if ctx.gateway else None
    side_before = side.snapshot()
    cpu_before, busy_before, wall_before = server.cpu_snapshot(), machine_busy_seconds(), time.monotonic()
    children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    process = wrk.run(**common, requests_file=measured, seconds=args.duration)
    time.sleep(min(2.0, args.duration / 3))
    split = server.connections_per_worker()
    result = wrk.finish(process, limit=args.duration + 60)
    cpu = server.cpu_used(cpu_before, server.cpu_snapshot())
    side_used = Side.used(side_before, side.snapshot())
    children = resource.getrusage(resource.RUSAGE_CHILDREN)  # wrk, now reaped
    wrk_cpu = (children.ru_utime + children.ru_stime) - (children_before.ru_utime + children_before.ru_stime)
    others = machine_busy_seconds() - busy_before - cpu["app"] - cpu["db"] - wrk_cpu - sum(side_used.values())
    others_cores = max(0.0, others) / (time.monotonic() - wall_before)
    ctx.rates[scenario.name] = result.rps
    per_request = (
        {kind: 1000 * seconds / result.requests for kind, seconds in cpu.items()} if result.requests else {}
    )
    side_per_request = (
        {kind: 1000 * seconds / result.requests for kind, seconds in side_used.items()}
        if result.requests
        else {}
    )
    row.update(
        {
            "requests": result.requests,
            "seconds": round(result.seconds, 3),
            "rps": result.rps,
            "latency_ms": {k: round(v, 3) for k, v in result.latency_ms.items()},
            "errors": result.errors(scenario.expect),
            "expected_statuses": sorted(scenario.expect),
            "statuses": {str(k): v for k, v in sorted(result.statuses.items())},
            "socket_errors": result.socket_errors,
            "wraps": result.wraps,
            "distinct_requests": len(workload.requests),
            "connections": conns,
            "wrk_threads": threads,
            "connections_per_worker": split,
            # CPU time of the gunicorn workers and of the scratch database's backends over the
            # measurement, per request: less sensitive than req/s to other load on the machine.
            "cpu_ms_per_request": {k: round(v, 3) for k, v in per_request.items()},
            # The run's other processes (Midtrans fake, Celery worker, redis-server), per request.
            "side_cpu_ms_per_request": {k: round(v, 3) for k, v in side_per_request.items()},
            "wrk_cpu_s": round(wrk_cpu, 3),
            # Cores kept busy by everything else on the machine meanwhile (other users, the
            # harness itself): above a few tenths, the req/s figures are disturbed.
            "others_cores": round(others_cores, 2),
            "note": workload.note,
            "repeatable": workload.repeatable,
        }
    )
    if side.broker:
        # Tasks waiting for the worker when the measurement started and when it ended.
        row["broker_backlog"] = [backlog_before, side.backlog()]
    if gateway_before is not None:
        after = ctx.gateway.stats()
        row["gateway_calls"] = {
            name: n - gateway_before["calls"].get(name, 0)
            for name, n in after["calls"].items()
            if n != gateway_before["calls"].get(name, 0)
        }
        if row["gateway_calls"]:  # the stats call itself opens one connection
            row["gateway_calls"]["connections"] = after["connections"] - gateway_before["connections"] - 1
        refusals = {
            name: n - gateway_before["refusals"].get(name, 0)
            for name, n in after["refusals"].items()
            if n != gateway_before["refusals"].get(name, 0)
        }
        if refusals:
            row["gateway_refusals"] = refusals
    lat = result.latency_ms
    print(
        f"  {result.requests} requests, {result.rps:.1f} req/s, p50 {lat['p50']:.1f} / p99 {lat['p99']:.1f} ms, "
        f"CPU/request app {per_request.get('app', 0):.2f} + db {per_request.get('db', 0):.2f} ms, "
        f"statuses {dict(result.statuses)}, connections per worker {split}, others' load {others_cores:.2f} cores",
        flush=True,
    )
    if row.get("gateway_calls"):
        print(
            f"  Midtrans fake: {row['gateway_calls']} {row.get('gateway_refusals') or ''}".rstrip(),
            flush=True,
        )


def measure(scenario, ctx, *, args, server: Server, wrk_path: str, workdir: Path, side: Side) -> dict:
    from django.db import connections

    from bench.workload import Skip

    row = _target(scenario)
    print(f"{scenario.title}: preparing", flush=True)
    prepared = time.monotonic()
    try:
        workload = scenario.prepare(ctx)
    except Skip as skip:
        print(f"{scenario.title}: skipped, {skip}", flush=True)
        return {**row, "skipped": str(skip)}
    finally:
        connections.close_all()  # the harness holds no connection while the server is measured
    row["prepare_s"] = round(time.monotonic() - prepared, 1)
    if workload.run is not None:
        return measure_in_process(scenario, ctx, workload, row, side)
    with side.background_paused(row):
        _measure_http(
            scenario,
            ctx,
            workload,
            row,
            args=args,
            server=server,
            wrk_path=wrk_path,
            workdir=workdir,
            side=side,
        )
    _checked(workload, row)
    return row
