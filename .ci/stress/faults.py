"""The faults of the stress run's second wave (`run.py`), injected from a thread while the
shoppers run: one app instance SIGKILLed and restarted, every database connection
terminated, the redis-server stopped for a few seconds; with `--topology`, the instance
kill, the S3-protocol store stopped for a few seconds and PgBouncer restarted. Each leaves
its time window, so the checks can tell a fault's 5xx from a real one."""

import threading
import time

import psycopg
from cluster import AppInstance, StressRedis

INSTANCE_FAULT = "instance killed"
DB_FAULT = "database connections terminated"
REDIS_FAULT = "redis-server down"
STORE_FAULT = "S3 store down"
POOLER_FAULT = "PgBouncer restarted"
# A request in flight when its database connection was cut may fail (a 5xx the client
# retries); no other fault excuses one.
CONNECTION_FAULTS = (DB_FAULT, POOLER_FAULT)


class Faults(threading.Thread):
    """The faults of wave 2, each at a point of the wave's progress: kill an instance (it is
    restarted in the background two seconds later), terminate every database connection,
    stop the broker and cache for a few seconds."""

    NAMES = (INSTANCE_FAULT, DB_FAULT, REDIS_FAULT)

    def __init__(
        self, *, total: int, instances: list[AppInstance], redis: StressRedis, pg: str, db: str
    ) -> None:
        super().__init__(name="faults", daemon=True)
        self.total = total
        self.instances = instances
        self.redis = redis
        self.pg, self.db = pg, db
        self.windows: list[tuple[str, float, float]] = []
        self.done: list[str] = []
        self.log: list[str] = []
        self.error: BaseException | None = None
        self._progress = 0
        self._stopping = False
        self._cond = threading.Condition()
        self._helpers: list[threading.Thread] = []

    def progress(self, done: int) -> None:
        with self._cond:
            self._progress = done
            self._cond.notify_all()

    def stop(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify_all()

    def _reached(self, share: float) -> bool:
        with self._cond:
            self._cond.wait_for(lambda: self._stopping or self._progress >= share * self.total)
            return not self._stopping

    def _note(self, text: str) -> None:
        self.log.append(f"{time.strftime('%H:%M:%S')} {text}")
        print(f"  fault: {text}", flush=True)

    def _guarded(self, work) -> None:
        try:
            work()
        except BaseException as exc:  # reported by the main thread
            self.error = self.error or exc

    def run(self) -> None:
        self._guarded(self._faults)
        for helper in self._helpers:
            helper.join(120)

    def _faults(self) -> None:
        if self._reached(0.15):
            self._kill_instance()
        if self._reached(0.40):
            self._terminate_database_connections()
        if self._reached(0.65):
            self._redis_down()

    def _kill_instance(self) -> None:
        """SIGKILL the first instance; a helper thread starts it again two seconds later."""
        victim = self.instances[0]
        began = time.monotonic()
        pids = victim.kill()
        self._note(f"SIGKILL {victim.name} (pids {pids}) at {self._progress}/{self.total} shoppers")

        def restart() -> None:
            time.sleep(2)
            victim.start()  # waits for the instance's ready/
            self.windows.append((INSTANCE_FAULT, began, time.monotonic()))
            self._note(f"{victim.name} restarted and ready, {time.monotonic() - began:.1f}s after the kill")

        helper = threading.Thread(target=self._guarded, args=(restart,), name="restart", daemon=True)
        helper.start()
        self._helpers.append(helper)
        self.done.append(INSTANCE_FAULT)

    def _in_background(self, work, name: str) -> None:
        helper = threading.Thread(target=self._guarded, args=(work,), name=name, daemon=True)
        helper.start()
        self._helpers.append(helper)

    def _terminate_database_connections(self) -> None:
        began = time.monotonic()
        with psycopg.connect(f"{self.pg}/postgres", autocommit=True) as admin:
            killed = admin.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_backend_pid()",
                [self.db],
            ).fetchone()[0]
        self.windows.append((DB_FAULT, began, time.monotonic()))
        self._note(f"pg_terminate_backend: {killed} connections at {self._progress}/{self.total}")
        self.done.append(DB_FAULT)

    def _down_for(self, name: str, service, seconds: float) -> None:
        """Stop `service` (anything with stop() and start()), wait, start it again."""
        began = time.monotonic()
        service.stop()
        self._note(f"{name}: stopped at {self._progress}/{self.total}")
        time.sleep(seconds)
        service.start()
        self.windows.append((name, began, time.monotonic()))
        self._note(f"{name}: back after {time.monotonic() - began:.1f}s at {self._progress}/{self.total}")
        self.done.append(name)

    def _redis_down(self) -> None:
        self._down_for(REDIS_FAULT, self.redis, 4)


class TopologyFaults(Faults):
    """The faults of the topology run (`--topology`): an instance SIGKILLed (and started
    again), the S3-protocol store stopped for a few seconds, PgBouncer restarted (every
    client and server connection it held is cut)."""

    NAMES = (INSTANCE_FAULT, STORE_FAULT, POOLER_FAULT)

    def __init__(self, *, topology, **kwargs) -> None:
        super().__init__(**kwargs)
        self.topology = topology

    def _faults(self) -> None:
        if self._reached(0.15):
            self._kill_instance()
        if self._reached(0.40):
            # In the background: waiting out the store's five seconds here let a fast wave end
            # before the pooler's turn came (a CI run found the restart never carried out).
            self._in_background(lambda: self._down_for(STORE_FAULT, self.topology.s3, 5), "store")
        if self._reached(0.65):
            self._down_for(POOLER_FAULT, self.topology.pgbouncer, 1)
