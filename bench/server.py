"""The app under test: gunicorn with gthread workers on 127.0.0.1, started and stopped by
the harness (only the master it started, which takes its workers down with it)."""

import math
import os
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
