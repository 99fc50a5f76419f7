"""The background side of a benchmark or stress run: a private redis-server (the broker
and shared cache), a Celery worker with the same settings as the app server, and the
depth of the broker's queue."""

import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from bench.server import ROOT, free_port, process_tree


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
