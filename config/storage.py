"""Where files live: the local disk (the default, zero setup) or an S3-compatible object
store (STORAGE_BACKEND=s3), so that every app instance sees every file.

Two stores, two buckets:

- "private" (invoice and credit note PDFs): S3_PRIVATE_BUCKET, objects written with the
  `private` ACL, no URL ever handed out. The access-checked views stream the object
  through the app (README, "Files"): the PDF keeps its `Cache-Control: private, no-store`
  and no link that works for anyone who holds it ever leaves the server.
- "default" (product images): S3_PUBLIC_BUCKET, plain unsigned URLs from the storage;
  `manage.py storage_init` gives that bucket a read-only public policy.

Buckets are made by `manage.py storage_init`, never on the fly: a typo in a bucket name is
a readiness failure (`ready/`), not a new empty bucket.

Timeouts are short and botocore retries twice: an unreachable store costs a request a few
seconds, not minutes, and is then answered 503 (invoices.storage.StorageUnavailable).
"""

import secrets
from pathlib import PurePosixPath

from botocore.config import Config
from django.core.files.storage import storages
from storages.backends.s3 import S3Storage


class FoodiesS3Storage(S3Storage):
    """S3Storage with short timeouts (`connect_timeout`, `read_timeout`, seconds) and two
    attempts per call, addressed by path (what MinIO, Ceph and moto expect)."""

    def get_default_settings(self) -> dict:
        return {**super().get_default_settings(), "connect_timeout": 2.0, "read_timeout": 10.0}

    def __init__(self, **settings) -> None:
        super().__init__(**settings)
        self.client_config = Config(
            connect_timeout=self.connect_timeout,
            read_timeout=self.read_timeout,
            retries={"mode": "standard", "max_attempts": 2},
            signature_version="s3v4",
            s3={"addressing_style": "path"},
        )


class PrivateS3Storage(FoodiesS3Storage):
    """The private bucket: every object `private`, no URL, and every saved name unique.

    Unique names matter: django-storages' own check-then-write (`exists()`, then upload)
    lets two renders of one invoice racing each other write the same key, and the loser
    would then delete the winner's file. A random suffix on every name makes each upload
    its own object, as FileSystemStorage's exclusive create does on disk."""

    default_acl = "private"
    querystring_auth = True

    def get_available_name(self, name: str, max_length: int | None = None) -> str:
        path = PurePosixPath(name)
        return str(path.with_name(f"{path.stem}_{secrets.token_hex(4)}{path.suffix}"))

    def url(self, name, parameters=None, expire=None, http_method=None) -> str:
        raise NotImplementedError("Private files have no URL: serve them through a view that checks access.")


class PublicS3Storage(FoodiesS3Storage):
    """The public bucket (product images): unsigned URLs, names never overwritten."""


def storage_check() -> None:
    """Raise if either store cannot be used now: for S3, each bucket is asked for (HEAD);
    on disk, each folder must exist and be writable. For `ready/`."""
    import os

    for alias in ("private", "default"):
        storage = storages[alias]
        if isinstance(storage, S3Storage):
            storage.connection.meta.client.head_bucket(Bucket=storage.bucket_name)
        else:
            location = storage.location
            os.makedirs(location, exist_ok=True)
            if not (os.path.isdir(location) and os.access(location, os.W_OK)):
                raise OSError(f"{alias} storage folder {location} is missing or not writable")
