"""The services the app talks to, configured from the environment: the database, the cache
and file storage. `config/settings.py` calls these; each environment variable is read
here, with its default, and documented in `.env.example`.
"""

from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured


def database_from_env(env: environ.Env, *, base_dir: Path) -> dict:
    """DATABASES["default"]: DATABASE_URL (SQLite in the project root by default)."""
    db = env.db("DATABASE_URL", default=f"sqlite:///{base_dir / 'db.sqlite3'}")
    if db["ENGINE"] == "django.db.backends.sqlite3":
        # IMMEDIATE: a write transaction takes the lock when it starts, so concurrent writers
        # queue up (for `timeout` seconds) instead of failing with "database is locked" when a
        # reader upgrades. WAL lets readers run beside the one writer.
        db.setdefault("OPTIONS", {})
        db["OPTIONS"].update(
            {
                "transaction_mode": "IMMEDIATE",
                "timeout": env.int("SQLITE_TIMEOUT", default=20),
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            }
        )
    else:
        # Persistent connections: one per worker thread, checked before reuse.
        db["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
        db["CONN_HEALTH_CHECKS"] = True
        # Behind PgBouncer in transaction pooling mode (README, "Scaling out") a connection's
        # server changes from one transaction to the next: no server-side cursors (.iterator()
        # would declare a WITH HOLD cursor on one server and fetch from another). Nothing else
        # relies on session state: no advisory locks, no LISTEN, no prepared statements
        # (psycopg's client-side binding, Django's default); the time zone Django sets is one of
        # the parameters PgBouncer restores on every server it hands out. Persistent
        # connections to PgBouncer stay (cheap, and CONN_HEALTH_CHECKS sees a restart of it).
        db["DISABLE_SERVER_SIDE_CURSORS"] = env.bool("DATABASE_PGBOUNCER", default=False)
        # A database (or PgBouncer) that does not answer fails a request, and ready/, in seconds.
        db.setdefault("OPTIONS", {}).setdefault(
            "connect_timeout", env.int("DATABASE_CONNECT_TIMEOUT", default=5)
        )
    db["ATOMIC_REQUESTS"] = False
    return db


def cache_from_env(env: environ.Env) -> dict:
    """CACHES["default"]: CACHE_URL (an in-process cache by default)."""
    cache = env.cache("CACHE_URL", default="locmemcache://foodies")
    # django-environ picks django-redis for redis:// whenever it is installed; either way the
    # resilient backend below is used (config/cache.py says why not django-redis).
    if cache["BACKEND"] in (
        "django.core.cache.backends.redis.RedisCache",
        "django_redis.cache.RedisCache",
    ):
        cache.get("OPTIONS", {}).pop("CLIENT_CLASS", None)
        # An unreachable Redis is a cache miss, not a 500 (config/cache.py); a server that does
        # not answer is given up on after about a second per request.
        cache["BACKEND"] = "config.cache.ResilientRedisCache"
        redis_options = cache.setdefault("OPTIONS", {})
        redis_options.setdefault("socket_connect_timeout", 1.0)
        redis_options.setdefault("socket_timeout", 1.0)
    return cache


def cache_is_shared(cache: dict) -> bool:
    """Whether every process sees the same cache (Redis or Memcached, not locmem or dummy)."""
    return "locmem" not in cache["BACKEND"] and "dummy" not in cache["BACKEND"]


def file_storages_from_env(env: environ.Env, *, backend: str) -> dict:
    """The "default" (public images) and "private" (PDFs) entries of STORAGES."""
    if backend == "local":
        return {
            "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
            "private": {"BACKEND": "invoices.storage.PrivateFileSystemStorage"},  # at PRIVATE_ROOT
        }
    if backend == "s3":
        s3 = {
            "endpoint_url": env.str("S3_ENDPOINT_URL", default="") or None,
            "region_name": env.str("S3_REGION", default="us-east-1"),
            "access_key": env.str("S3_ACCESS_KEY_ID", default="") or None,
            "secret_key": env.str("S3_SECRET_ACCESS_KEY", default="") or None,
            "file_overwrite": False,
            "connect_timeout": env.float("S3_CONNECT_TIMEOUT", default=2.0),
            "read_timeout": env.float("S3_READ_TIMEOUT", default=10.0),
        }
        return {
            "default": {
                "BACKEND": "config.storage.PublicS3Storage",
                "OPTIONS": {
                    **s3,
                    "bucket_name": env.str("S3_PUBLIC_BUCKET", default="foodies-public"),
                    "default_acl": None,  # readable through the bucket's policy, not per-object ACLs
                    "querystring_auth": False,
                    "custom_domain": env.str("S3_PUBLIC_DOMAIN", default="") or None,
                },
            },
            "private": {
                "BACKEND": "config.storage.PrivateS3Storage",
                "OPTIONS": {**s3, "bucket_name": env.str("S3_PRIVATE_BUCKET", default="foodies-private")},
            },
        }
    raise ImproperlyConfigured("STORAGE_BACKEND must be `local` or `s3`.")
