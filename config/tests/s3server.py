"""A real S3-protocol server for the tests: moto in server mode on a free loopback port,
and the project's file stores pointed at it as STORAGE_BACKEND=s3 configures them.

    def test_x(s3):  # the fixture (a plugin of the root conftest)
        s3.stop()    # the store goes away: connections are refused
        s3.start()   # back, with the same buckets and objects

moto keeps its buckets in this process's memory, so a stop and start keeps them, as a
real store's restart would; the fixture empties them at the end of each test.

`S3Server` needs no Django set up until its client is used: the topology stress run
(.ci/stress/topology.py) starts one before the app processes it points at the store.
"""

import socket
from dataclasses import dataclass, field

import pytest
import requests
from django.core.files.storage import storages
from django.core.management import call_command
from moto.server import ThreadedMotoServer

ACCESS_KEY = "test-access-key"
SECRET_KEY = "test-secret-key"
PRIVATE_BUCKET = "foodies-test-private"
PUBLIC_BUCKET = "foodies-test-public"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class S3Server:
    port: int = field(default_factory=free_port)
    _server: ThreadedMotoServer | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        self._server.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server._server.server_close()  # refuse connections, as a store that is down
            self._server = None

    def env(self) -> dict[str, str]:
        """The environment of an app instance that uses this store."""
        return {
            "STORAGE_BACKEND": "s3",
            "S3_ENDPOINT_URL": self.endpoint,
            "S3_REGION": "us-east-1",
            "S3_ACCESS_KEY_ID": ACCESS_KEY,
            "S3_SECRET_ACCESS_KEY": SECRET_KEY,
            "S3_PRIVATE_BUCKET": PRIVATE_BUCKET,
            "S3_PUBLIC_BUCKET": PUBLIC_BUCKET,
            "S3_CONNECT_TIMEOUT": "1",
            "S3_READ_TIMEOUT": "2",
        }

    def storages_setting(self) -> dict:
        common = {
            "endpoint_url": self.endpoint,
            "region_name": "us-east-1",
            "access_key": ACCESS_KEY,
            "secret_key": SECRET_KEY,
            "file_overwrite": False,
            "connect_timeout": 1.0,
            "read_timeout": 2.0,
        }
        return {
            "default": {
                "BACKEND": "config.storage.PublicS3Storage",
                "OPTIONS": {
                    **common,
                    "bucket_name": PUBLIC_BUCKET,
                    "default_acl": None,
                    "querystring_auth": False,
                },
            },
            "private": {
                "BACKEND": "config.storage.PrivateS3Storage",
                "OPTIONS": {**common, "bucket_name": PRIVATE_BUCKET},
            },
            "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
        }

    def client(self):
        return storages["private"].connection.meta.client

    def keys(self, bucket: str = PRIVATE_BUCKET) -> list[str]:
        listing = self.client().list_objects_v2(Bucket=bucket)
        return sorted(item["Key"] for item in listing.get("Contents", []))


@pytest.fixture
def s3(settings, monkeypatch):
    """moto on a free port, the buckets made by `storage_init`, and this process's stores
    (STORAGES and the invoice models' FileFields) on it. Django resolves a FileField's
    storage once, when the model class is made; a process picks its STORAGE_BACKEND from
    the environment before that, this test swaps it in afterwards."""
    from invoices.models import CreditNote, Invoice

    server = S3Server()
    server.start()
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    settings.STORAGES = server.storages_setting()
    for model in (Invoice, CreditNote):
        monkeypatch.setattr(model._meta.get_field("pdf"), "storage", storages["private"])
    call_command("storage_init", verbosity=0)
    yield server
    if server._server is None:
        server.start()
    requests.post(f"{server.endpoint}/moto-api/reset", timeout=5)  # the next test starts empty
    server.stop()
