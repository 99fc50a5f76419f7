"""The faults of the stress run's second wave (`run.py`), injected from a thread while the
shoppers run: one app instance SIGKILLed and restarted, every database connection
terminated, the redis-server stopped for a few seconds. Each leaves its time window, so
the checks can tell a fault's 5xx from a real one."""

import threading
import time

import psycopg
from cluster import AppInstance, StressRedis

DB_FAULT = "database connections terminated"
FAULTS = ("instance killed", DB_FAULT, "redis-server down")


class Faults(threading.Thread):
    """The faults of wave 2, each at a point of the wave's progress: kill an instance (it is
    restarted in the background two seconds later), terminate every database connection,
    stop the broker and cache for a few seconds."""

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
            victim = self.instances[0]
            began = time.monotonic()
            pids = victim.kill()
            self._note(f"SIGKILL {victim.name} (pids {pids}) at {self._progress}/{self.total} shoppers")

            def restart(killed_at: float = began) -> None:  # bound now: `began` is reused below
                time.sleep(2)
                victim.start()
                self.windows.append((FAULTS[0], killed_at, time.monotonic()))
                self._note(f"{victim.name} restarted, {time.monotonic() - killed_at:.1f}s after the kill")

            helper = threading.Thread(target=self._guarded, args=(restart,), name="restart", daemon=True)
            helper.start()
            self._helpers.append(helper)
            self.done.append(FAULTS[0])
        if self._reached(0.40):
            began = time.monotonic()
            with psycopg.connect(f"{self.pg}/postgres", autocommit=True) as admin:
                killed = admin.execute(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = %s AND pid <> pg_backend_pid()",
                    [self.db],
                ).fetchone()[0]
            self.windows.append((DB_FAULT, began, time.monotonic()))
            self._note(f"pg_terminate_backend: {killed} connections at {self._progress}/{self.total}")
            self.done.append(FAULTS[1])
        if self._reached(0.65):
            began = time.monotonic()
            self.redis.stop()
            self._note(f"redis-server stopped at {self._progress}/{self.total}")
            time.sleep(4)
            self.redis.start()
            self.windows.append((FAULTS[2], began, time.monotonic()))
            self._note(
                f"redis-server back after {time.monotonic() - began:.1f}s at {self._progress}/{self.total}"
            )
            self.done.append(FAULTS[2])
