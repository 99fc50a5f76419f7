"""Which errors of a file store are an outage (a 503, a retried task) and which are not."""

import errno

import pytest
from botocore.exceptions import ClientError, ConnectTimeoutError, EndpointConnectionError

from invoices.storage import StorageUnavailable, is_storage_outage, storage_guard


def client_error(status: int) -> ClientError:
    return ClientError(
        {"Error": {"Code": str(status)}, "ResponseMetadata": {"HTTPStatusCode": status}}, "GetObject"
    )


@pytest.mark.parametrize(
    ("exc", "outage"),
    [
        (EndpointConnectionError(endpoint_url="http://127.0.0.1:1"), True),
        (ConnectTimeoutError(endpoint_url="http://127.0.0.1:1"), True),
        (client_error(503), True),
        (client_error(500), True),
        (client_error(403), False),  # a wrong key or policy: a bug to see, not to retry
        (client_error(404), False),
        (OSError(errno.EIO, "I/O error"), True),
        (OSError(errno.ENOSPC, "No space left on device"), True),
        (FileNotFoundError(errno.ENOENT, "gone"), False),
        (PermissionError(errno.EACCES, "denied"), False),
        (ValueError("a rendering bug"), False),
    ],
)
def test_what_counts_as_an_outage(exc, outage):
    assert is_storage_outage(exc) is outage


def test_the_guard_turns_an_outage_into_storage_unavailable_and_leaves_the_rest():
    with pytest.raises(StorageUnavailable) as caught, storage_guard():
        raise EndpointConnectionError(endpoint_url="http://127.0.0.1:1")
    assert (caught.value.status, caught.value.code) == (503, "storage_unavailable")
    with pytest.raises(PermissionError), storage_guard():
        raise PermissionError(errno.EACCES, "denied")
