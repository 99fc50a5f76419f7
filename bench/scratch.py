"""The scratch database and the production-like environment the app runs in while measured."""

import re
import secrets
from pathlib import Path

import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parent.parent
# bandit B108 (a fixed /tmp path): a throwaway benchmark database, deleted before and
# after each run.
SQLITE_PATH = Path("/tmp/foodies_bench.sqlite3")  # nosec B108


class ScratchDatabase:
    """`foodies_bench` on the local PostgreSQL (or a SQLite file in /tmp), made empty at the
    start and dropped at the end."""

    def __init__(self, *, kind: str, server_url: str, name: str) -> None:
        self.kind = kind
        self.name = name
        self.server_url = server_url.rstrip("/")
        if kind == "postgres":
            self.url = f"{self.server_url}/{name}"
        else:
            self.url = f"sqlite:///{SQLITE_PATH}"

    def _admin(self, statement: sql.Composed) -> None:
        with psycopg.connect(f"{self.server_url}/postgres", autocommit=True) as connection:
            connection.execute(statement)

    def create(self) -> None:
        self.drop()
        if self.kind == "postgres":
            self._admin(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.name)))

    def drop(self) -> None:
        if self.kind == "postgres":
            # FORCE: a server connection left over from a failed run must not keep it alive.
            self._admin(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(self.name)))
        else:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{SQLITE_PATH}{suffix}").unlink(missing_ok=True)


def throttle_settings() -> list[str]:
    """Every THROTTLE_* setting `.env.example` documents, so a throttle added later is
    raised out of the way too."""
    text = (ROOT / ".env.example").read_text()
    return sorted(set(re.findall(r"^#?\s*(THROTTLE_[A-Z_]+)=", text, flags=re.MULTILINE)))


def app_env(
    *,
    database_url: str,
    cache_url: str | None,
    broker_url: str | None = None,
    private_root: str | None = None,
) -> dict[str, str]:
    """Production settings (DEBUG off, a random secret) minus HTTPS, which a plain-HTTP
    loopback run cannot use, with throttles out of the way and the bench view routed.
    `broker_url`: Celery's broker (else tasks run in the app after commit); `private_root`:
    where invoice PDFs are stored (else the project's `private/`)."""
    env = {
        "DATABASE_URL": database_url,
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1",
        "PUBLIC_BASE_URL": "http://127.0.0.1",  # required with DEBUG off (payments.E007)
        "SECURE_SSL_REDIRECT": "false",
        "SESSION_COOKIE_SECURE": "false",
        "CSRF_COOKIE_SECURE": "false",
        "LOG_LEVEL": "ERROR",
        "BENCH_ROUTES": "true",
        # Tokens are made before the server starts and must outlive the run.
        "JWT_ACCESS_MINUTES": "240",
        # WhiteNoise warns that STATIC_ROOT does not exist; the API serves no static files.
        "PYTHONWARNINGS": "ignore:No directory at",
    }
    for name in throttle_settings():
        env[name] = "1000000/min"
    if cache_url:
        env["CACHE_URL"] = cache_url
    if broker_url:
        env["CELERY_BROKER_URL"] = broker_url
    if private_root:
        env["PRIVATE_ROOT"] = private_root
    return env
