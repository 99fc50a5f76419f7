"""Private file storage: invoice and credit note PDFs.

The files are reachable only through views that check the caller (the API's owner-or-staff
views and the admin). Nothing maps them to a public URL, so `url()` refuses rather than
hand out a MEDIA_URL link that would either 404 or, worse, be served one day.

Which store holds them is configuration (STORAGE_BACKEND, see config/storage.py): the
local disk at PRIVATE_ROOT, or a private bucket of an S3-compatible store shared by every
app instance. A store that cannot be reached (connection refused, timeout, a 5xx) is
`StorageUnavailable`: a 503 to a client, a retry to a task, never a 500.
"""

import contextlib
import errno
from http import HTTPStatus

from django.conf import settings
from django.core.files.storage import FileSystemStorage, Storage, storages
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _

from config.errors import DomainError


class StorageUnavailable(DomainError):
    status = HTTPStatus.SERVICE_UNAVAILABLE
    code = "storage_unavailable"
    default_detail = _("The document store cannot be reached just now. Try again in a minute.")


def is_storage_outage(exc: BaseException) -> bool:
    """True for an error that says the store is unreachable or failing, not that a file is
    missing: an OSError a failing disk or network mount gives (OUTAGE_ERRNOS), botocore's
    connection and timeout errors, and an S3 answer with a 5xx status."""
    if isinstance(exc, FileNotFoundError):
        return False
    if type(exc).__module__.startswith("botocore"):
        from botocore.exceptions import ClientError, ConnectionError, HTTPClientError

        if isinstance(exc, ClientError):
            return exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) >= 500
        return isinstance(exc, ConnectionError | HTTPClientError)
    return isinstance(exc, OSError) and exc.errno in OUTAGE_ERRNOS


# What a failing disk or network mount says (not "no such file", not a permission or a
# rendering problem, which are bugs to see as such).
OUTAGE_ERRNOS = frozenset(
    {
        errno.EIO,
        errno.ENOSPC,
        errno.EDQUOT,
        errno.EROFS,
        errno.ESTALE,
        errno.ETIMEDOUT,
        errno.ECONNREFUSED,
        errno.EHOSTUNREACH,
        errno.ENETUNREACH,
    }
)


class storage_guard(contextlib.ContextDecorator):
    """Turns an outage of the store (is_storage_outage) into StorageUnavailable."""

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        if exc is not None and not isinstance(exc, DomainError) and is_storage_outage(exc):
            raise StorageUnavailable() from exc
        return False


class PrivateFileSystemStorage(FileSystemStorage):
    """Files under `location`, by default settings.PRIVATE_ROOT (followed when a test
    changes it, as FileSystemStorage follows MEDIA_ROOT)."""

    @cached_property
    def base_location(self):
        return self._value_or_setting(self._location, settings.PRIVATE_ROOT)

    def _clear_cached_properties(self, setting, **kwargs):
        super()._clear_cached_properties(setting, **kwargs)
        if setting == "PRIVATE_ROOT":
            self.__dict__.pop("base_location", None)
            self.__dict__.pop("location", None)

    def url(self, name: str | None) -> str:
        raise NotImplementedError("Private files have no URL: serve them through a view that checks access.")


def private_storage() -> Storage:
    """The storage configured as STORAGES["private"]. A callable, so the FileField's
    migration does not freeze the backend: configuration chooses it (an object store's
    private bucket in a multi-machine deployment)."""
    return storages["private"]
