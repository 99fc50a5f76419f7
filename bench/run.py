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
import shutil
import signal
import sys
import tempfile
import time
import warnings
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import report, scratch, wrk  # noqa: E402
from bench.measure import Side, client_fetch, http_fetch, measure  # noqa: E402
from bench.midtrans_fake import MidtransFake  # noqa: E402
from bench.server import Server, cpu_seconds  # noqa: E402
from bench.worker import CeleryWorker, PrivateRedis  # noqa: E402


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
        print("\n" + report.peers_table(rows, reference))
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
