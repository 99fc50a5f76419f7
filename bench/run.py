"""Load benchmark: each API scenario's throughput as a ratio to a bare view, in one run.

Makes a scratch database (PostgreSQL `foodies_bench` by default), migrates, seeds the demo
menu plus generated products and a few hundred shoppers, starts gunicorn (gthread,
production settings) on 127.0.0.1, and drives each scenario with wrk for a fixed time and
number of connections. Prints req/s, latency percentiles, errors and the ratio to the bare
view measured in the same run, checks the targets, and writes bench/results/latest.json
(plus a timestamped copy). The server is stopped and the database dropped at the end,
also on failure. See bench/README.md.

    make bench                                     # everything, PostgreSQL
    .venv/bin/python bench/run.py --scenarios list,detail --duration 5
    .venv/bin/python bench/run.py --profile detail  # in-process, cProfile + query counts
    .venv/bin/python bench/run.py --db sqlite
"""

import argparse
import math
import os
import resource
import shutil
import signal
import statistics
import sys
import tempfile
import time
import urllib.error
import urllib.request
import warnings
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import report, scratch, wrk  # noqa: E402
from bench.midtrans_fake import MidtransFake  # noqa: E402
from bench.server import (  # noqa: E402
    CeleryWorker,
    PrivateRedis,
    Server,
    broker_backlog,
    cpu_seconds,
    machine_busy_seconds,
)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", choices=["postgres", "sqlite"], default="postgres")
    parser.add_argument(
        "--pg", default="postgres://postgres@127.0.0.1:5432", help="PostgreSQL server (without a database)"
    )
    parser.add_argument("--db-name", default="foodies_bench", help="scratch PostgreSQL database (dropped)")
    parser.add_argument(
        "--products", type=int, default=10_000, help="generated products besides the demo menu"
    )
    parser.add_argument("--users", type=int, default=300, help="shoppers for cart read and add to cart")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--server-threads", type=int, default=4, help="threads per gunicorn worker")
    parser.add_argument("--duration", type=float, default=10, help="seconds of load per scenario")
    parser.add_argument("--warmup", type=float, default=2, help="seconds of unmeasured load first (0: none)")
    parser.add_argument("--connections", type=int, default=8, help="keep-alive connections wrk holds open")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument(
        "--scenarios", default="", help="comma-separated names (default: all); bare always runs"
    )
    parser.add_argument(
        "--balanced",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="even split of the connections over the workers (bench/gunicorn_worker.py; default: yes)",
    )
    cache = parser.add_mutually_exclusive_group()
    cache.add_argument(
        "--cache-url", default=None, help="CACHE_URL for the app (default: per-process memory)"
    )
    cache.add_argument(
        "--redis",
        action="store_true",
        help="start a private redis-server for the run and use it as the cache",
    )
    parser.add_argument(
        "--celery",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="a Celery worker and a private redis-server as its broker, as in production (default: "
        "yes); --no-celery: tasks (invoice PDF, receipt) run in the app after each commit",
    )
    parser.add_argument(
        "--save",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="write bench/results/ (default: yes)",
    )
    parser.add_argument("--profile", metavar="SCENARIO", help="profile one scenario in-process instead")
    parser.add_argument("--profile-requests", type=int, default=200, help="requests per profile pass")
    args = parser.parse_args()
    if args.connections < args.threads:
        parser.error("--connections must be at least --threads")
    # Whole multiples: every wrk thread then serves the same shoppers throughout.
    args.users = math.ceil(max(args.users, args.threads) / args.threads) * args.threads
    return args


def _terminate(signum, frame):
    raise SystemExit(f"stopped by signal {signum}")


def select(args: argparse.Namespace) -> list:
    from bench.scenarios import BARE, BARE_AGAIN, BY_NAME, SCENARIOS

    if args.profile:
        scenario = BY_NAME.get(args.profile)
        if scenario is None or scenario.prepare is None:
            runnable = [s.name for s in SCENARIOS if s.prepare and s is not BARE_AGAIN]
            raise SystemExit(f"--profile takes one of: {', '.join(runnable)}")
        return [scenario]
    if not args.scenarios:
        return SCENARIOS
    names = {name.strip() for name in args.scenarios.split(",") if name.strip()}
    unknown = names - BY_NAME.keys()
    if unknown:
        raise SystemExit(f"unknown scenarios: {', '.join(sorted(unknown))}; known: {', '.join(BY_NAME)}")
    return [s for s in SCENARIOS if s.name in names or s in (BARE, BARE_AGAIN)]


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


SECRETS = ("SECRET_KEY", "MIDTRANS_SERVER_KEY")


def effective_settings(
    args: argparse.Namespace, env: dict[str, str], server: Server | None, background: dict
) -> dict:
    from django.conf import settings
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT version()" if connection.vendor == "postgresql" else "SELECT sqlite_version()")
        db_version = cursor.fetchone()[0]
    connection.close()
    return {
        "database": args.db,
        "database_version": db_version,
        "products_generated": args.products,
        "shoppers": args.users,
        "duration_s": args.duration,
        "warmup_s": args.warmup,
        "connections": args.connections,
        "wrk_threads": args.threads,
        "gunicorn": server.command[1:] if server else None,
        "accept_limit_per_worker": server.accept_limit if server and server.balanced else None,
        # gunicorn reads it from its working directory; the options above override it.
        "gunicorn_conf_py": (ROOT / "gunicorn.conf.py").exists(),
        "env": {k: v for k, v in env.items() if k not in SECRETS},
        "django": {
            "DEBUG": settings.DEBUG,
            "CONN_MAX_AGE": settings.DATABASES["default"].get("CONN_MAX_AGE"),
            "CACHE_BACKEND": settings.CACHES["default"]["BACKEND"],
            "PAGE_SIZE": settings.REST_FRAMEWORK.get("PAGE_SIZE"),
            "PAYMENT_GATEWAY": settings.PAYMENT_GATEWAY,
            "MIDTRANS_VERIFY_STATUS": settings.MIDTRANS_VERIFY_STATUS,
            "EMAIL_BACKEND": settings.EMAIL_BACKEND,
        },
        # Where the tasks a request leaves (invoice PDF, receipt) ran.
        "background": background,
    }


def main() -> None:
    args = parse_args()
    signal.signal(signal.SIGTERM, _terminate)
    began = time.monotonic()
    wrk_path = None if args.profile else wrk.ensure_wrk()
    database = scratch.ScratchDatabase(kind=args.db, server_url=args.pg, name=args.db_name)
    # Logs, the fake's key, the requests files and the invoice PDFs; removed at the end.
    rundir = Path(tempfile.mkdtemp(prefix="foodies-bench-"))
    redis = PrivateRedis() if args.redis or args.celery else None
    fake = MidtransFake(workdir=rundir)
    broker_url = redis.url_for(1) if args.celery else None
    env = scratch.app_env(
        database_url=database.url,
        cache_url=redis.url_for(0) if args.redis else args.cache_url,
        broker_url=broker_url,
        private_root=str(rundir / "private"),
    )
    env.update(fake.app_env())
    env["EMAIL_URL"] = "dummymail://"  # receipts are built and "sent" to nowhere
    os.environ.update(env)
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    server_env = {**os.environ}
    machine = report.machine()
    side = Side()

    import django

    # As PYTHONWARNINGS does for the server: the API serves no static files.
    warnings.filterwarnings("ignore", message="No directory at", category=UserWarning)
    database.create()
    server = worker = None
    try:
        if redis:
            redis.start()
            side.add("redis", lambda: [redis.process.pid])
        fake.start()
        side.add("midtrans_fake", lambda: [fake.process.pid])
        django.setup()
        from django.conf import settings
        from django.core.management import call_command
        from django.db import connections

        from bench import fixtures
        from bench.workload import PAGE_SIZE, Context, Skip

        scenarios = select(args)
        started = time.monotonic()
        call_command("migrate", interactive=False, verbosity=0)
        migrated = time.monotonic()
        with open(os.devnull, "w") as quiet:
            call_command("seed", products=args.products, stdout=quiet)
        fixtures.shop_open_always()
        menu = fixtures.menu_read(page_size=PAGE_SIZE)
        shoppers = fixtures.shoppers_create(label="shopper", count=args.users)
        connections.close_all()
        print(
            f"{args.db}: migrated in {migrated - started:.1f}s; seeded {len(menu.visible_slugs)} products "
            f"({args.products} generated) and {len(shoppers)} shoppers in {time.monotonic() - migrated:.1f}s",
            flush=True,
        )
        common = {
            "menu": menu,
            "shoppers": shoppers,
            "connections": args.connections,
            "duration": args.duration,
            "warmup": args.warmup,
            "gateway": fake,
        }

        if args.profile:
            from bench.profiling import profile

            (scenario,) = scenarios
            budget = 2 * args.profile_requests
            ctx = Context(**common, fetch=client_fetch(), budget=budget)
            try:
                workload = scenario.prepare(ctx)
                if workload.resize is not None:
                    workload.requests = workload.resize(None)
            except Skip as skip:
                raise SystemExit(f"{scenario.title}: cannot be profiled, {skip}") from None
            report.RESULTS.mkdir(exist_ok=True)
            profile(
                scenario=scenario,
                workload=workload,
                count=args.profile_requests,
                out=report.RESULTS / f"profile-{scenario.name}.prof",
            )
            return

        background = {"tasks": "in the app process, after each commit (no broker)"}
        if args.celery:
            worker = CeleryWorker(
                env=server_env, log=Path(tempfile.gettempdir()) / f"{args.db_name}-celery.log"
            )
            worker.start()
            side.add("celery_worker", worker.pids)
            side.broker = (broker_url, settings.CELERY_TASK_DEFAULT_QUEUE)
            side.worker = worker
            background = {
                "tasks": "a Celery worker (the request only publishes them)",
                "broker": "a private redis-server on 127.0.0.1, started for the run",
                "worker": worker.command[1:],
                "worker_nice": worker.nice,
                "worker_paused_while_measuring": True,
            }
            print(
                f"celery worker: {worker.concurrency} process at nice {worker.nice}, broker {broker_url}; "
                "paused while a scenario is measured",
                flush=True,
            )
        server = Server(
            env=server_env,
            workers=args.workers,
            threads=args.server_threads,
            log=Path(tempfile.gettempdir()) / f"{args.db_name}-gunicorn.log",
            balanced=args.balanced,
            database=(args.pg, args.db_name) if args.db == "postgres" else None,
        )
        server.serve(connections=args.connections)
        print(
            f"gunicorn {args.workers} workers x {args.server_threads} threads on {server.base_url}; "
            f"wrk {args.threads} threads, {args.connections} connections, {args.duration:g}s per scenario "
            f"after {args.warmup:g}s warm-up; payments through the Midtrans fake on {fake.base_url}",
            flush=True,
        )
        ctx = Context(**common, fetch=http_fetch(server.base_url))
        rows = []
        planned = [s for s in scenarios if s.prepare is None]
        workdir = rundir / "requests"
        workdir.mkdir()
        for scenario in scenarios:
            if scenario.prepare is not None:
                rows.append(
                    measure(
                        scenario, ctx, args=args, server=server, wrk_path=wrk_path, workdir=workdir, side=side
                    )
                )
        server_log = server.log_tail()
        server.stop()
        if worker is not None:
            background["backlog_at_end"] = side.backlog()
            background["tasks_done"] = worker.tasks_done()
            background["worker_cpu_s"] = round(sum(filter(None, map(cpu_seconds, worker.pids()))), 1)
            worker_log = worker.log_tail()
            worker.stop()
        settings_used = effective_settings(args, env, server, background)
        settings_used["midtrans_fake"] = {"url": fake.base_url, **fake.stats()}
        reference = report.finish_rows(rows)
        print("\n" + report.table(rows, reference))
        for scenario in planned:
            print(
                f"planned, not measured yet: {scenario.title} [{scenario.target_text()}]: {scenario.planned}"
            )
        if worker is not None:
            print(
                f"\ncelery worker: {background['tasks_done']}, {background['worker_cpu_s']}s of CPU; "
                f"{background['backlog_at_end']} tasks still queued at the end (dropped with the run)"
            )
        elapsed = time.monotonic() - began
        print(f"\nwhole run: {elapsed:.0f}s")
        if "Traceback" in server_log or " ERROR " in server_log:
            print(f"\nthe server logged errors; its last lines:\n{server_log}")
        if worker is not None and ("Traceback" in worker_log or " ERROR" in worker_log):
            print(f"\nthe celery worker logged errors; its last lines:\n{worker_log}")
        if args.save:
            document = {
                "date": datetime.now(UTC).isoformat(timespec="seconds"),
                "run_seconds": round(elapsed, 1),
                "machine": {**machine, "load_average_at_end": [round(x, 2) for x in os.getloadavg()]},
                "code": report.code(),
                "tools": {"wrk": wrk.wrk_version(wrk_path)},
                "settings": settings_used,
                "reference": reference,
                "scenarios": rows,
                "planned": [
                    {"name": s.name, "title": s.title, "target": s.target_text(), "waits_for": s.planned}
                    for s in planned
                ],
            }
            stamped, latest = report.save(document)
            print(f"results: {latest.relative_to(ROOT)} and {stamped.relative_to(ROOT)}")
    finally:
        if server is not None:
            server.stop()
        if worker is not None:
            worker.stop()
        fake.stop()
        if redis is not None:
            redis.stop()
        if "django.db" in sys.modules:
            from django.db import connections

            connections.close_all()
        database.drop()
        shutil.rmtree(rundir, ignore_errors=True)


if __name__ == "__main__":
    main()
