"""Private file storage: invoice and credit note PDFs.

The files are reachable only through views that check the caller (the API's owner-or-staff
views and the admin). Nothing maps them to a public URL, so `url()` refuses rather than
hand out a MEDIA_URL link that would either 404 or, worse, be served one day.
"""

from django.conf import settings
from django.core.files.storage import FileSystemStorage, Storage, storages
from django.utils.functional import cached_property


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
