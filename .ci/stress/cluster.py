"""The processes of a stress run: its own redis-server, app instances (gunicorn), a Celery
worker and beat. Each is started here and stopped here, by the process id (or the process
group) this run made; nothing else on the machine is touched.

The gunicorn and redis-server plumbing is bench/'s (`bench.server`, `bench.worker`): same
free-port picking, health wait and graceful stop. What is added is what a fault needs: SIGKILL of a whole
instance (master and workers at once, as a crashed machine would) and a restart on the
same port, and a redis-server that can be stopped and started again on its port.
"""

import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from bench.server import Server
from bench.worker import PrivateRedis

ROOT = Path(__file__).resolve().parents[2]
CELERY = str(Path(sys.executable).with_name("celery"))
READY = "/api/v1/ready/"  # readiness: database, cache, broker and storage each answered


class AppInstance(Server):
    """One gunicorn instance (a master and `workers` gthread workers) on its own port."""

    def __init__(self, *, name: str, env: dict[str, str], workers: int, threads: int, log: Path) -> None:
        super().__init__(env=env, workers=workers, threads=threads, log=log, balanced=False)
        self.name = name
        self.kills = 0

    def start(self) -> None:
        self.serve(connections=self.workers * self.threads)

    def _wait_healthy(self, limit: float = 60.0) -> None:
        """Wait for the instance's readiness (`ready/` 200: every dependency answered, what
        a load balancer waits for), not only its liveness, with every worker up."""
        deadline = time.monotonic() + limit
        said = "no answer"
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited ({self.process.returncode}):\n{self.log_tail()}")
            try:
                # bandit B310 (url scheme): our own gunicorn, always http://127.0.0.1:<port>.
                with urllib.request.urlopen(self.base_url + READY, timeout=3) as response:  # nosec B310
                    if response.status == 200 and len(self.worker_pids()) == self.workers:
                        return
            except urllib.error.HTTPError as exc:  # 503: names what is down
                said = f"{exc.code} {exc.read()[:300].decode(errors='replace')}"
            except OSError as exc:
                said = repr(exc)
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} not ready ({READY}) within {limit:.0f}s: {said}\n{self.log_tail()}")

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> list[int]:
        """SIGKILL the master and every worker at once (no graceful anything); returns the
        pids killed."""
        if not self.running:
            return []
        pids = [*self.worker_pids(), self.process.pid]
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.process.wait(10)
        self._reap(pids)
        self.kills += 1
        return pids

    @staticmethod
    def _reap(pids: list[int], limit: float = 10.0) -> None:
        """Wait until the killed workers are gone (they are the master's children, reaped by
        init once the master is dead), so the port is free for a restart."""
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            if not any(Path(f"/proc/{pid}").exists() for pid in pids):
                return
            time.sleep(0.05)

    def stop(self) -> None:
        pids = self.worker_pids()
        super().stop()
        # Workers outlive a master that died by SIGKILL; ours are stopped by pid.
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


class StressRedis(PrivateRedis):
    """bench's private redis-server (free loopback port, nothing persisted), which can be
    stopped and started again on the same port: the broker and cache outage."""

    def url_for(self, db: int) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self) -> None:
        if self.running:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


class CeleryProcess:
    """`celery -A config worker` or `celery -A config beat`, in a process group of its own so
    the prefork children go with it."""

    def __init__(self, *, kind: str, env: dict[str, str], log: Path, args: list[str], name: str = "") -> None:
        self.kind = kind
        self.name = name or kind
        self.env = env
        self.log = log
        self.args = args
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        with open(self.log, "a") as out:
            self.process = subprocess.Popen(
                [CELERY, "-A", "config", self.kind, *self.args],
                cwd=ROOT,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def wait_ready(self, marker: str, limit: float = 60.0) -> None:
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"celery {self.kind} exited ({self.process.returncode}):\n{self.tail()}")
            if marker in self.log.read_text(errors="replace"):
                return
            time.sleep(0.2)
        raise RuntimeError(f"celery {self.kind} did not start within {limit:.0f}s:\n{self.tail()}")

    def tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self) -> None:
        if self.process is None:
            return
        pgid = self.process.pid  # the group leader: start_new_session made it one
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # warm shutdown: running tasks finish
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(20)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGKILL)  # whatever of the group is left
        if self.process.poll() is None:
            self.process.wait(10)


def celery_worker(*, env: dict[str, str], log: Path, name: str) -> CeleryProcess:
    """A worker of the run: two prefork processes on the run's queue, named `name`."""
    return CeleryProcess(
        kind="worker",
        name=name,
        env=env,
        log=log,
        args=[
            "--concurrency=2",
            "--pool=prefork",
            "--loglevel=INFO",
            "--queues=foodies-stress",
            f"--hostname={name}@%h",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ],
    )
