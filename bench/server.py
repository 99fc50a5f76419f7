"""The app under test: gunicorn with gthread workers on 127.0.0.1, started and stopped by
the harness (only the master it started, which takes its workers down with it)."""

import math
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
HEALTH = "/api/v1/health/"
TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time a process has used, or None when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime: fields 14 and 15 of stat


def process_tree(pid: int) -> list[int]:
    """`pid` and every process below it, read from /proc."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(parent, []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, []))
    return found


def machine_busy_seconds() -> float:
    """CPU seconds all processes on the machine have used (every core), from /proc/stat."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(f) for f in fields[:8])
    return (user + nice + system + irq + softirq + steal) / TICKS


class Server:
    def __init__(
        self,
        *,
        env: dict[str, str],
        workers: int,
        threads: int,
        log: Path,
        balanced: bool = True,
        database: tuple[str, str] | None = None,
    ) -> None:
        """`balanced`: use bench.gunicorn_worker (an even split of the client connections);
        `database`: (PostgreSQL server URL, database name), to account the CPU time of the
        database's backends to the requests."""
        self.env = env
        self.workers = workers
        self.threads = threads
        self.balanced = balanced
        self.database = database
        self.accept_limit: int | None = None
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log = log
        log.write_text("")
        self.process: subprocess.Popen | None = None

    @property
    def command(self) -> list[str]:
        worker = "bench.gunicorn_worker.BalancedThreadWorker" if self.balanced else "gthread"
        return [
            str(Path(sys.executable).parent / "gunicorn"),
            "config.wsgi:application",
            f"--bind=127.0.0.1:{self.port}",
            f"--worker-class={worker}",
            f"--workers={self.workers}",
            f"--threads={self.threads}",
            "--log-level=warning",
            "--timeout=60",
        ]

    def serve(self, *, connections: int) -> None:
        """Running, and ready for `connections` clients (restarted when that changes the
        per-worker cap of the balanced worker)."""
        limit = math.ceil(connections / self.workers)
        if self.process is not None and self.process.poll() is None:
            if not self.balanced or limit == self.accept_limit:
                return
            self.stop()
        self.accept_limit = limit
        env = {**self.env, "BENCH_ACCEPT_LIMIT": str(limit)}
        with open(self.log, "a") as log:
            self.process = subprocess.Popen(
                self.command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
            )
        self._wait_healthy()

    def _wait_healthy(self, limit: float = 60.0) -> None:
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited ({self.process.returncode}):\n{self.log_tail()}")
            try:
                # bandit B310 (url scheme): our own gunicorn, always http://127.0.0.1:<port>.
                with urllib.request.urlopen(self.base_url + HEALTH, timeout=2) as response:  # nosec B310
                    if response.status == 200 and len(self.worker_pids()) == self.workers:
                        return
            except (OSError, urllib.error.URLError):
                pass
            time.sleep(0.2)
        raise RuntimeError(f"gunicorn did not answer {HEALTH} within {limit:.0f}s:\n{self.log_tail()}")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()  # graceful: the master stops its workers
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def worker_pids(self) -> list[int]:
        """The master's children, read from /proc."""
        if self.process is None:
            return []
        pids = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == self.process.pid:  # field 4 of stat: the parent's pid
                pids.append(int(stat.parent.name))
        return sorted(pids)

    def connections_per_worker(self) -> list[int]:
        """Established client connections each worker holds right now, busiest first.

        The kernel hands each new connection to whichever worker accepts first; a skewed
        split (8 and 0) halves the CPU a Python server can use, so the split is recorded with
        every scenario to tell a slow endpoint from an unlucky one."""
        inodes = self._established_inodes()
        counts = Counter()
        for pid in self.worker_pids():
            try:
                for fd in Path(f"/proc/{pid}/fd").iterdir():
                    try:
                        target = fd.readlink().name
                    except OSError:
                        continue
                    if target.startswith("socket:[") and target[8:-1] in inodes:
                        counts[pid] += 1
            except OSError:
                continue
            counts.setdefault(pid, 0)
        return sorted(counts.values(), reverse=True)

    def _backend_pids(self) -> list[int]:
        if self.database is None:
            return []
        server_url, name = self.database
        with psycopg.connect(f"{server_url}/postgres", autocommit=True) as connection:
            rows = connection.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()", [name]
            ).fetchall()
        return [pid for (pid,) in rows]

    def cpu_snapshot(self) -> dict[str, dict[int, float]]:
        """CPU seconds used so far by each worker and each backend of the scratch database."""
        snapshot: dict[str, dict[int, float]] = {"app": {}, "db": {}}
        for kind, pids in (("app", self.worker_pids()), ("db", self._backend_pids())):
            for pid in pids:
                used = cpu_seconds(pid)
                if used is not None:
                    snapshot[kind][pid] = used
        return snapshot

    @staticmethod
    def cpu_used(before: dict, after: dict) -> dict[str, float]:
        """CPU seconds between two snapshots. A process that appeared in between counts from 0
        (a database connection opened during the run); one that ended counts nothing."""
        used = {}
        for kind in ("app", "db"):
            pids = before[kind].keys() | after[kind].keys()
            used[kind] = sum(
                max(0.0, after[kind].get(p, before[kind].get(p, 0.0)) - before[kind].get(p, 0.0))
                for p in pids
            )
        return used

    def _established_inodes(self) -> set[str]:
        inodes = set()
        for table in ("/proc/net/tcp", "/proc/net/tcp6"):
            try:
                rows = Path(table).read_text().splitlines()[1:]
            except OSError:
                continue
            for row in rows:
                fields = row.split()
                local_port = int(fields[1].rsplit(":", 1)[1], 16)
                if local_port == self.port and fields[3] == "01":  # 01: ESTABLISHED
                    inodes.add(fields[9])
        return inodes


class PrivateRedis:
    """A redis-server of the run's own on a free loopback port, nothing persisted, for a
    cache shared by the workers (`--redis`); never the machine's shared one."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = self.url_for(0)
        self.process: subprocess.Popen | None = None

    def url_for(self, db: int) -> str:
        """The URL of one of its numbered databases (the cache in 0, a broker in another)."""
        return f"redis://127.0.0.1:{self.port}/{db}"

    def start(self) -> None:
        command = [
            "redis-server",
            "--bind",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--save",
            "",
            "--appendonly",
            "no",
        ]
        try:
            self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        except FileNotFoundError:
            raise RuntimeError(
                "redis-server is missing (make system-deps, or apt-get install redis-server)"
            ) from None
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as probe:
                    probe.sendall(b"PING\r\n")
                    if probe.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("redis-server did not answer")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)


class CeleryWorker:
    """`celery -A config worker` against the run's private broker, with the app's settings:
    one pool process (`concurrency`) at the lowest CPU priority (`nice`). A production
    worker runs on cores of its own; here it shares the server's two, so `pause()` makes it
    stop taking tasks (Celery's remote control, `cancel_consumer`) and waits until the task
    in hand is done, and `resume()` lets it go on: the harness pauses it while a scenario
    is measured, and it works through the backlog in between. Its own process group;
    `stop()` ends that group only."""

    def __init__(
        self, *, env: dict[str, str], log: Path, concurrency: int = 1, nice: int = 19, queue: str = "foodies"
    ) -> None:
        self.env = env
        self.log = log
        self.concurrency = concurrency
        self.nice = nice
        self.queue = queue
        self.nodename = f"bench-{os.getpid()}@foodies-bench"
        self.process: subprocess.Popen | None = None

    @property
    def command(self) -> list[str]:
        return [
            str(Path(sys.executable).parent / "celery"),
            "-A",
            "config",
            "worker",
            f"--concurrency={self.concurrency}",
            "--pool=prefork",
            "--loglevel=INFO",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            f"--hostname={self.nodename}",
            f"--queues={self.queue}",
        ]

    def start(self, timeout: float = 90.0) -> None:
        nice = self.nice
        with open(self.log, "w") as log:
            self.process = subprocess.Popen(
                self.command,
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=lambda: os.nice(nice),
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"the celery worker exited ({self.process.returncode}):\n{self.log_tail()}"
                )
            if " ready." in self.log.read_text(errors="replace"):
                return
            time.sleep(0.3)
        raise RuntimeError(f"the celery worker was not ready within {timeout:.0f}s:\n{self.log_tail()}")

    def pids(self) -> list[int]:
        if self.process is None or self.process.poll() is not None:
            return []
        return process_tree(self.process.pid)

    def _control(self):
        from config.celery import app  # the harness's Django settings name the run's broker

        return app.control

    def pause(self, timeout: float = 60.0) -> float:
        """Stop taking tasks and wait until none is running or reserved; returns the seconds
        waited. Raises RuntimeError if the worker does not answer or stay busy too long."""
        began = time.monotonic()
        control = self._control()
        answer = control.cancel_consumer(self.queue, destination=[self.nodename], reply=True, timeout=5)
        if not answer:
            raise RuntimeError(f"the celery worker did not answer cancel_consumer:\n{self.log_tail()}")
        while time.monotonic() - began < timeout:
            inspect = control.inspect(destination=[self.nodename], timeout=2, limit=1)
            active, reserved = inspect.active(), inspect.reserved()
            answered = active is not None and reserved is not None
            if answered and not active.get(self.nodename) and not reserved.get(self.nodename):
                return time.monotonic() - began
            time.sleep(0.2)
        raise RuntimeError(f"the celery worker was still busy after {timeout:.0f}s:\n{self.log_tail()}")

    def resume(self) -> None:
        answer = self._control().add_consumer(self.queue, destination=[self.nodename], reply=True, timeout=5)
        if not answer:
            raise RuntimeError(f"the celery worker did not answer add_consumer:\n{self.log_tail()}")

    def tasks_done(self) -> dict[str, int]:
        """Tasks that finished, by name and outcome, from the worker's log."""
        counts: Counter[str] = Counter()
        for line in self.log.read_text(errors="replace").splitlines():
            if "] succeeded in " in line or "] raised " in line or "] retry: " in line:
                name = line.split("Task ", 1)[-1].split("[", 1)[0].strip()
                outcome = "succeeded" if "] succeeded in " in line else "failed"
                counts[f"{name} {outcome}"] += 1
        return dict(sorted(counts.items()))

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()  # warm shutdown: the task in hand finishes, then the pool
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            # The master still runs, so the group is still the one it leads: only its processes.
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)


def broker_backlog(url: str, queue: str) -> int | None:
    """Messages waiting in a Redis broker's queue (None when it cannot be asked)."""
    import redis

    try:
        client = redis.Redis.from_url(url, socket_timeout=2)
        try:
            return int(client.llen(queue))
        finally:
            client.close()
    except redis.RedisError:
        return None
