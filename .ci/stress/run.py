"""Multi-process correctness under load and faults (`make stress`; issue 14).

One command that makes its own world and takes it down again:

1. a scratch PostgreSQL database (`foodies_stress_<pid>`), migrated, with a small menu whose stock
   covers only part of what the shoppers want, pickup slots with room for only part of the
   pickup shoppers, and the shoppers (access tokens made in-process);
2. its own redis-server on a free loopback port (broker and cache; never the machine's);
3. two gunicorn instances (each with several gthread workers) on free loopback ports, with
   production settings, the mock payment gateway and its signing key, receipts e-mailed to
   files; a Celery worker and beat on the private broker, with short periodic intervals;
4. wave 1: every shopper at once over HTTP, spread over both instances: cart, checkout
   (some with a pickup slot, some sending the checkout twice at once with one key), then
   pay on the mock gateway with each notification delivered again as duplicates spread
   over the instances, or pay with the notification lost, or cancel, or leave it unpaid;
   then the background work is let finish and the invariants are checked;
5. wave 2, the same with new shoppers, during which one instance is SIGKILLed (and
   restarted), every connection to the database is terminated, and the redis-server is
   stopped for a few seconds; then `reconcile_payments --min-age 0`, the background work
   is let finish, and the same invariants are checked, plus: every settled payment paid,
   nothing half-done.

With `--topology` (`make stress-topology`; topology.py): three instances, each process with
its own local disk, the files in an S3-protocol store, PgBouncer in transaction pooling
mode in front of PostgreSQL, two Celery workers and beat; wave 2's faults are an instance
killed, the store stopped for a few seconds and PgBouncer restarted; and every invoice PDF
must download through an instance that never had it.

Prints a summary table and exits 1 if any invariant is broken (2 if the run itself could not
be carried out). Everything it started is stopped, and the database dropped, also on failure.

    make stress                                   # 200 shoppers a wave, ~3-5 minutes
    .venv/bin/python .ci/stress/run.py --ci       # 60 shoppers a wave, as CI runs it
    .venv/bin/python .ci/stress/run.py --shoppers 40 --no-faults
    .venv/bin/python .ci/stress/run.py --ci --topology
"""

import argparse
import math
import os
import random
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
for path in (str(ROOT), str(HERE)):
    if path not in sys.path:
        sys.path.insert(0, path)

from cluster import AppInstance, CeleryProcess, StressRedis, celery_worker  # noqa: E402
from faults import CONNECTION_FAULTS, Faults, TopologyFaults  # noqa: E402
from summary import server_errors, settle, wave_report  # noqa: E402

from bench import scratch  # noqa: E402

FAULT_GRACE = 3.0  # seconds after a fault during which a 5xx is the fault's


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shoppers", type=int, default=200, help="shoppers per wave (default 200)")
    parser.add_argument("--ci", action="store_true", help="CI size: 60 shoppers a wave, 16 clients")
    parser.add_argument("--clients", type=int, default=32, help="shoppers at once (client threads)")
    parser.add_argument("--copies", type=int, default=3, help="duplicate deliveries of each notification")
    parser.add_argument("--instances", type=int, help="gunicorn instances (default 2; 3 with --topology)")
    parser.add_argument(
        "--topology", action="store_true", help="separate disks, S3 store, PgBouncer, 2 workers (topology.py)"
    )
    parser.add_argument("--workers", type=int, default=2, help="gthread workers per instance")
    parser.add_argument("--threads", type=int, default=4, help="threads per worker")
    parser.add_argument("--stock-share", type=float, default=0.6, help="share of the wanted units in stock")
    parser.add_argument("--pickup-share", type=float, default=0.3, help="shoppers who book a pickup slot")
    parser.add_argument("--slot-share", type=float, default=0.5, help="of those, how many the slots take")
    parser.add_argument("--double-share", type=float, default=0.15, help="shoppers who submit twice at once")
    parser.add_argument("--no-faults", action="store_true", help="run wave 2 without faults")
    parser.add_argument(
        "--settle-timeout", type=float, default=150, help="seconds to wait for background work"
    )
    parser.add_argument(
        "--deadline", type=float, default=570, help="abort the whole run after this many seconds"
    )
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--pg", default="postgres://postgres@127.0.0.1:5432", help="PostgreSQL server URL")
    # Unique per run: two runs on one machine (a developer's and CI's) must not drop each
    # other's database.
    parser.add_argument("--db-name", default=f"foodies_stress_{os.getpid()}")
    args = parser.parse_args()
    if args.ci:
        args.shoppers, args.clients = min(args.shoppers, 60), min(args.clients, 16)
    args.instances = args.instances or (3 if args.topology else 2)
    if args.instances < 2 and not args.no_faults:
        parser.error("the faults need at least 2 instances (one is killed)")
    return args


def _terminate(signum, frame):
    raise SystemExit(f"stopped by signal {signum}")


def _watchdog(seconds: float) -> None:
    """Abort a run that overstays: SIGALRM raises in the main thread, whose `finally`
    then stops everything."""

    def fire(signum, frame):
        raise TimeoutError(f"the stress run took longer than {seconds:.0f}s")

    signal.signal(signal.SIGALRM, fire)
    signal.alarm(math.ceil(seconds))


def app_environment(args, *, database_url: str, redis: StressRedis, workdir: Path) -> dict[str, str]:
    env = {
        **os.environ,
        **scratch.app_env(database_url=database_url, cache_url=redis.url_for(0)),
        "CELERY_BROKER_URL": redis.url_for(1),
        "CELERY_TASK_DEFAULT_QUEUE": "foodies-stress",
        "CELERY_BEAT_SCHEDULE_FILENAME": str(workdir / "beat-schedule"),
        "PAYMENT_GATEWAY": "mock",
        # DEBUG is off: the mock runs only when allowed (payments/checks.py).
        "PAYMENT_MOCK_ALLOWED": "true",
        "MOCK_GATEWAY_KEY": "mock-stress-" + secrets.token_hex(16),
        "MIDTRANS_VERIFY_STATUS": "true",
        "EMAIL_URL": f"filemail:///{workdir / 'mail'}",
        "PRIVATE_ROOT": str(workdir / "private"),
        "MEDIA_ROOT": str(workdir / "media"),
        "ORDER_PAYMENT_TTL_MINUTES": "2",
        # A checkout that died holding its key is taken over by a retry this soon, and a
        # payment attempt it left without a token is given up this soon.
        "IDEMPOTENCY_LOCK_SECONDS": "5",
        "PAYMENT_OPENING_STALE_SECONDS": "15",
        # The periodic jobs run often, so beat heals within a wave.
        "SCHEDULE_EXPIRE_ORDERS_SECONDS": "5",
        "SCHEDULE_RECONCILE_PAYMENTS_SECONDS": "5",
        "RECONCILE_MIN_AGE_SECONDS": "5",
        "SCHEDULE_SEND_DUE_RECEIPTS_SECONDS": "5",
        "CONN_MAX_AGE": "60",
        "LOG_LEVEL": "WARNING",
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    return env


def main() -> int:
    args = parse_args()
    signal.signal(signal.SIGTERM, _terminate)
    _watchdog(args.deadline)
    began = time.monotonic()
    workdir = Path(tempfile.mkdtemp(prefix="foodies-stress-"))
    (workdir / "mail").mkdir()
    database = scratch.ScratchDatabase(kind="postgres", server_url=args.pg, name=args.db_name)
    redis = StressRedis()
    env = app_environment(args, database_url=database.url, redis=redis, workdir=workdir)
    topology = None
    if args.topology:
        from topology import Topology

        topology = Topology(pg=args.pg, workdir=workdir, database=args.db_name)
        env.update(topology.store_env())  # the harness's own connections stay direct
    os.environ.update(env)
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    os.environ["CONN_MAX_AGE"] = "0"  # the harness's own connections: closed after use

    instances: list[AppInstance] = []
    celery: list[CeleryProcess] = []
    faults: Faults | None = None
    keep_workdir = False
    database.create()
    try:
        redis.start()
        if topology:
            topology.start()
        import django

        django.setup()
        import client
        import invariants
        import world
        from django.core.management import call_command
        from django.db import connections

        call_command("migrate", interactive=False, verbosity=0)
        if topology:
            call_command("storage_init", verbosity=0)  # buckets are made by the command only
        rng = random.Random(args.seed)
        menu = world.menu_create()
        pickup_wanted = math.ceil(args.shoppers * args.pickup_share * args.slot_share)
        capacities = [
            pickup_wanted // world.PICKUP_SLOTS + (i < pickup_wanted % world.PICKUP_SLOTS)
            for i in range(world.PICKUP_SLOTS)
        ]
        slots = world.hours_and_slots_create(capacities=capacities)
        shoppers = world.shoppers_make(count=2 * args.shoppers)
        staff = world.staff_make()
        wave_plans = [
            world.plans_draw(
                rng=rng,
                shoppers=shoppers[n * args.shoppers : (n + 1) * args.shoppers],
                menu=menu,
                slots=slots,
                pickup_share=args.pickup_share,
                double_submit_share=args.double_share,
            )
            for n in range(2)
        ]
        connections.close_all()
        print(
            f"set up in {time.monotonic() - began:.1f}s: {args.db_name}, redis-server on :{redis.port}, "
            f"{len(shoppers)} shoppers, slots with room for {sum(capacities)} a wave",
            flush=True,
        )

        def own(name: str) -> dict[str, str]:  # a process's environment: own disk with --topology
            return topology.process_env(env, name) if topology else env

        workers = [
            celery_worker(env=own(name), log=workdir / f"{name}.log", name=name)
            for name in (["worker-1", "worker-2"] if topology else ["stress"])
        ]
        beat = CeleryProcess(kind="beat", env=own("beat"), log=workdir / "beat.log", args=["--loglevel=INFO"])
        celery += [*workers, beat]
        for process in celery:
            process.start()
        for n in range(args.instances):
            name = "app-" + "abcdefgh"[n]
            instances.append(
                AppInstance(
                    name=name,
                    env=own(name),
                    workers=args.workers,
                    threads=args.threads,
                    log=workdir / f"app-{n}.log",
                )
            )
        for instance in instances:
            instance.start()
        for worker in workers:
            worker.wait_ready(" ready.")
        beat.wait_ready("beat: Starting")
        print(
            f"{args.instances} gunicorn instances ({args.workers} workers x {args.threads} threads), "
            f"ready/: "
            + ", ".join(f"{i.name} {i.base_url}" for i in instances)
            + f"; {len(workers)} celery worker(s) and beat up"
            + (f"; {topology.describe()}" if topology else ""),
            flush=True,
        )

        reports = []
        for wave, plans in enumerate(wave_plans, start=1):
            with_faults = wave == 2 and not args.no_faults
            added = world.stock_provide(plans=plans, share=args.stock_share, note=f"stress wave {wave}")
            if wave > 1:
                for slot, capacity in zip(slots, capacities, strict=True):
                    world.pickup.pickup_slot_set_capacity(slot_id=slot.pk, capacity=slot.capacity + capacity)
                slots = [world.PickupSlot.objects.get(pk=slot.pk) for slot in slots]
            connections.close_all()
            recorder = client.Recorder()
            shopping = client.Shopping(
                api=client.Api(instances=instances, recorder=recorder),
                clients=args.clients,
                copies=args.copies,
                seed=args.seed * 1000 + wave,
                staff_token=staff.token,
            )
            faults = None
            if with_faults:
                kind = partial(TopologyFaults, topology=topology) if topology else Faults
                faults = kind(total=len(plans), instances=instances, redis=redis, pg=args.pg, db=args.db_name)
            print(
                f"\nwave {wave}: {len(plans)} shoppers, {args.clients} at once"
                + (" - with faults" if faults else "")
                + f"; stock added {added}",
                flush=True,
            )
            wave_began = time.monotonic()
            if faults:
                faults.start()
            try:
                visits = shopping.run(plans, on_progress=faults.progress if faults else None)
            finally:
                shopping.close()
                if faults:
                    faults.stop()
                    faults.join(150)
            wave_seconds = time.monotonic() - wave_began
            if faults and faults.error:
                raise RuntimeError(f"a fault could not be carried out: {faults.error!r}") from faults.error
            for instance in instances:  # whatever a fault left down comes back for the checks
                if not instance.running:
                    instance.start()
            if not redis.running:
                redis.start()
            print(f"  shoppers done in {wave_seconds:.1f}s; letting the background work finish", flush=True)
            healing = ""
            if faults:
                result = subprocess.run(
                    [sys.executable, "manage.py", "reconcile_payments", "--min-age", "0"],
                    cwd=ROOT,
                    env=env,
                    capture_output=True,
                    text=True,
                    check=False,
                )
                healing = (
                    result.stdout.strip() or result.stderr.strip()[-300:]
                ) + f" (exit {result.returncode})"
                print(f"  reconcile_payments --min-age 0: {healing}", flush=True)
            settle_seconds = settle(timeout=args.settle_timeout)
            connections.close_all()
            checks = invariants.all_checks(
                env=env,
                mail_dir=workdir / "mail",
                visits=visits,
                calls=recorder.calls,
                # A request in flight when its database connection was cut may fail; no
                # other fault excuses a 5xx.
                excused=[w for w in faults.windows if w[0] in CONNECTION_FAULTS] if faults else [],
                grace=FAULT_GRACE,
            )
            if topology:
                tokens = {plan.shopper.user_id: plan.shopper.token for wave in wave_plans for plan in wave}
                checks += topology.checks(instances=instances, tokens=tokens)
                connections.close_all()
            if faults:
                missing = [name for name in faults.NAMES if name not in faults.done]
                checks.append(
                    invariants.Check(
                        "every fault carried out mid-wave",
                        ", ".join(
                            f"{name} at {start - wave_began:.1f}s" for name, start, _end in faults.windows
                        )
                        + (f"; not carried out: {missing}" if missing else ""),
                        not missing,
                    )
                )
            reports.append(
                wave_report(
                    wave=wave,
                    visits=visits,
                    calls=recorder.calls,
                    checks=checks,
                    seconds=wave_seconds,
                    settle_seconds=settle_seconds,
                    faults=faults,
                    healing=healing,
                )
            )
            print(reports[-1], flush=True)

        broken = [line for line in "\n".join(reports).splitlines() if line.lstrip().startswith("FAIL")]
        logs = server_errors(instances, celery)
        print(f"\nwhole run: {time.monotonic() - began:.0f}s\n{logs}")
        if broken:
            keep_workdir = True
            print(f"\nSTRESS FAILED: {len(broken)} broken invariant(s)")
            return 1
        print("\nstress: every invariant held")
        return 0
    finally:
        signal.alarm(0)
        if faults is not None:
            faults.stop()
        for instance in instances:
            instance.stop()
        for process in celery:
            process.stop()
        redis.stop()
        if topology:
            topology.stop()
        if "django.db" in sys.modules:
            from django.db import connections

            connections.close_all()
        database.drop()
        if keep_workdir or sys.exc_info()[0] is not None:
            print(f"logs kept in {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (RuntimeError, TimeoutError) as exc:
        print(f"\nSTRESS RUN BROKE: {exc}", file=sys.stderr)
        sys.exit(2)
