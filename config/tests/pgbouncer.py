"""PgBouncer in transaction pooling mode for the tests (`pytest --pgbouncer`, or
FOODIES_PGBOUNCER=1): the session's PostgreSQL connections, the race tests' threads and
the worker processes all go through a pgbouncer of its own on a free port, as production
does once processes outnumber what PostgreSQL should hold (README, "Scaling out").

The test database is created and dropped directly on PostgreSQL (pgbouncer would hold
server connections to it and block the DROP); everything in between runs through the
pooler, with the settings that make Django safe there (DISABLE_SERVER_SIDE_CURSORS).
Debian package: pgbouncer (`sh .ci/system-deps pgbouncer`).
"""

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

PGBOUNCER = shutil.which("pgbouncer") or (
    "/usr/sbin/pgbouncer" if os.path.exists("/usr/sbin/pgbouncer") else None
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class PgBouncer:
    """pgbouncer in front of one PostgreSQL server, transaction pooling, trust auth for
    the given user (the tests' PostgreSQL trusts local connections)."""

    def __init__(self, *, host: str, port: int, user: str, pool_size: int = 20, max_client_conn: int = 200):
        if PGBOUNCER is None:
            raise RuntimeError("pgbouncer is not installed (Debian: sh .ci/system-deps pgbouncer)")
        self.server = (host or "127.0.0.1", int(port or 5432))
        self.user = user or "postgres"
        self.port = free_port()
        self.pool_size = pool_size
        self.max_client_conn = max_client_conn
        self.folder = Path(tempfile.mkdtemp(prefix="foodies-pgbouncer-"))
        self.process: subprocess.Popen | None = None

    def _write_config(self) -> Path:
        (self.folder / "users.txt").write_text(f'"{self.user}" ""\n')
        ini = self.folder / "pgbouncer.ini"
        ini.write_text(
            "\n".join(
                [
                    "[databases]",
                    f"* = host={self.server[0]} port={self.server[1]}",
                    "[pgbouncer]",
                    "listen_addr = 127.0.0.1",
                    f"listen_port = {self.port}",
                    f"unix_socket_dir = {self.folder}",
                    "auth_type = trust",
                    f"auth_file = {self.folder / 'users.txt'}",
                    "pool_mode = transaction",
                    f"default_pool_size = {self.pool_size}",
                    f"max_client_conn = {self.max_client_conn}",
                    # psycopg sends these at connect; pgbouncer would refuse the client.
                    "ignore_startup_parameters = extra_float_digits,options",
                    "server_reset_query =",
                    f"logfile = {self.folder / 'pgbouncer.log'}",
                    f"pidfile = {self.folder / 'pgbouncer.pid'}",
                    "",
                ]
            )
        )
        os.chmod(self.folder, 0o777)
        for path in self.folder.iterdir():
            os.chmod(path, 0o666)
        return ini

    def start(self) -> None:
        ini = self._write_config()
        command = [PGBOUNCER]
        if os.geteuid() == 0:  # pgbouncer refuses to run as root
            command += ["-u", "postgres"]
        command.append(str(ini))
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"pgbouncer exited:\n{self.log()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"pgbouncer did not listen on {self.port}:\n{self.log()}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()  # SIGTERM: immediate shutdown, server connections closed
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self.process = None

    def log(self) -> str:
        path = self.folder / "pgbouncer.log"
        return path.read_text()[-4000:] if path.exists() else ""
