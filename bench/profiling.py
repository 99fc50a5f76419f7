"""`--profile SCENARIO`: one scenario's requests in-process, through Django's test client
(every middleware, no gunicorn, no network), against the scratch database.

First a timed pass that counts the queries of each request, then a pass under cProfile;
prints both and the top of the profile, and keeps the profile for a viewer
(`python -m pstats FILE`, snakeviz).
"""

import cProfile
import io
import pstats
import statistics
import sysconfig
import time
from collections import Counter
from pathlib import Path

from django.db import connection
from django.http.response import HttpResponseBase
from django.test import Client
from django.test.utils import CaptureQueriesContext

from bench.workload import Request, Scenario, Workload

WARM_REQUESTS = 20
# Printed paths are shortened to what follows these: `django/db/models/query.py`,
# `catalog/selectors.py`.
PATH_PREFIXES = (
    sysconfig.get_paths()["purelib"] + "/",
    sysconfig.get_paths()["stdlib"] + "/",
    str(Path(__file__).resolve().parent.parent) + "/",
)


def send(client: Client, request: Request) -> HttpResponseBase:
    headers = {"accept": "application/json"}
    if request.token:
        headers["authorization"] = f"Bearer {request.token}"
    if request.etag:
        headers["if-none-match"] = request.etag
    if request.prefer:
        headers["prefer"] = request.prefer
    return client.generic(
        request.method,
        request.path,
        data=request.body or "",
        content_type="application/json",
        headers=headers,
    )


def _cycle(requests: list[Request], start: int, count: int) -> list[Request]:
    return [requests[(start + i) % len(requests)] for i in range(count)]


def _print_top(profiler: cProfile.Profile, *, what: str, top: int) -> None:
    for sort, heading in (("cumulative", "cumulative time"), ("tottime", "own time")):
        buffer = io.StringIO()
        stats = pstats.Stats(profiler, stream=buffer).sort_stats(sort)
        stats.print_stats(top if sort == "cumulative" else top // 2)
        body = buffer.getvalue()
        for prefix in PATH_PREFIXES:
            body = body.replace(prefix, "")
        print(f"\n--- top {top if sort == 'cumulative' else top // 2} by {heading} ({what}) ---")
        print(body[body.find("   ncalls") :].rstrip())


def profile_in_process(*, scenario: Scenario, workload: Workload, out: Path, top: int = 25) -> None:
    """An in-process scenario (`Workload.run`): timed once, then run again under cProfile."""
    timed = workload.run()
    profiler = cProfile.Profile()
    profiler.enable()
    profiled = workload.run()
    profiler.disable()
    profiler.dump_stats(out)
    print(
        f"\n{scenario.title}: {len(timed.wall_ms)} timed + {len(profiled.wall_ms)} profiled ({workload.note})"
    )
    print(
        f"per operation, unprofiled: mean {statistics.fmean(timed.wall_ms):.2f} ms, "
        f"median {statistics.median(timed.wall_ms):.2f} ms, median CPU {statistics.median(timed.cpu_ms):.2f} ms; "
        f"{timed.facts}"
    )
    _print_top(profiler, what=f"{len(profiled.wall_ms)} operations", top=top)
    print(f"\nprofile saved: {out} (python -m pstats {out})")


def profile(*, scenario: Scenario, workload: Workload, count: int, out: Path, top: int = 25) -> None:
    if workload.run is not None:
        profile_in_process(scenario=scenario, workload=workload, out=out, top=top)
        return
    client = Client(HTTP_HOST="127.0.0.1")  # an allowed host, as the server has
    requests = workload.requests
    for request in _cycle(workload.warmup or requests, 0, WARM_REQUESTS):
        send(client, request)

    timed = _cycle(requests, 0, count)
    profiled = _cycle(requests, count, count)
    statuses: Counter[int] = Counter()
    elapsed, queries, sql_ms = [], [], []
    for request in timed:
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            statuses[send(client, request).status_code] += 1
            elapsed.append((time.perf_counter() - started) * 1000)
        queries.append(len(captured.captured_queries))
        sql_ms.append(sum(float(q["time"]) for q in captured.captured_queries) * 1000)

    profiler = cProfile.Profile()
    profiler.enable()
    for request in profiled:
        statuses[send(client, request).status_code] += 1
    profiler.disable()
    profiler.dump_stats(out)

    unexpected = {status: n for status, n in statuses.items() if status not in scenario.expect}
    print(f"\n{scenario.title}: {count} timed + {count} profiled requests in-process ({workload.note})")
    print(f"statuses: {dict(statuses)}" + (f"  UNEXPECTED: {unexpected}" if unexpected else ""))
    print(
        f"per request, unprofiled: mean {statistics.fmean(elapsed):.2f} ms, "
        f"median {statistics.median(elapsed):.2f} ms, SQL {statistics.fmean(sql_ms):.2f} ms; "
        f"queries mean {statistics.fmean(queries):.2f} (min {min(queries)}, max {max(queries)})"
    )
    worst = max(range(len(timed)), key=queries.__getitem__)
    print(f"most queries: {queries[worst]} for {timed[worst].method} {timed[worst].path}")
    _print_top(profiler, what=f"{count} requests", top=top)
    print(f"\nprofile saved: {out} (python -m pstats {out})")
