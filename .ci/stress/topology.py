"""The production topology of a stress run (`run.py --topology`, `make stress-topology`):
the app instances, Celery workers and beat each with a local disk of their own
(PRIVATE_ROOT, MEDIA_ROOT) and the files in an S3-protocol store (moto in server mode on a
free loopback port, `STORAGE_BACKEND=s3`), every app and worker connection to PostgreSQL
through a PgBouncer in transaction pooling mode. The store and the pooler are started
the way the test suite starts them (config/tests/s3server.py, config/tests/pgbouncer.py),
and stopped here, by the objects that started them.

What the topology adds to the invariants (`checks`): every invoice PDF downloads, with the
bytes recorded at render, through an app instance that never had it (no PDF on any local
disk, none rendered again on download), and every recorded PDF is an object in the
private bucket (after the store was down for a few seconds mid-wave).
"""

import hashlib
import logging
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

import requests

# PgBouncer's sizing for the run (README, "Production topology"): server connections per
# database and user, and the clients it accepts (3 instances x 2 workers x 4 threads, the
# Celery pool processes, beat, the harness's commands, with room for a restarted instance
# whose killed connections PgBouncer has not noticed yet).
POOL_SIZE = 20
MAX_CLIENT_CONN = 200


class Topology:
    def __init__(self, *, pg: str, workdir: Path, database: str) -> None:
        from config.tests.pgbouncer import PgBouncer
        from config.tests.s3server import S3Server

        server = urlsplit(pg)
        self.workdir = workdir
        self.database = database
        self.user = server.username or "postgres"
        self.s3 = S3Server()
        self.pgbouncer = PgBouncer(
            host=server.hostname or "127.0.0.1",
            port=server.port or 5432,
            user=self.user,
            pool_size=POOL_SIZE,
            max_client_conn=MAX_CLIENT_CONN,
        )
        self.disks: list[Path] = []

    def start(self) -> None:
        # moto serves in this process through werkzeug, which logs every request at INFO.
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        self.s3.start()
        self.pgbouncer.start()

    def stop(self) -> None:
        """Both stopped (PgBouncer first: it holds server connections to the database the
        run drops next)."""
        self.pgbouncer.stop()
        self.s3.stop()

    @property
    def database_url(self) -> str:
        return f"postgres://{self.user}@127.0.0.1:{self.pgbouncer.port}/{self.database}"

    def store_env(self) -> dict[str, str]:
        """The object store, for every process (the harness too: it lists the bucket)."""
        return {**self.s3.env(), "AWS_EC2_METADATA_DISABLED": "true"}

    def process_env(self, env: dict[str, str], name: str) -> dict[str, str]:
        """`env` for one app or Celery process: through PgBouncer, with its own local disk."""
        disk = self.workdir / "disks" / name
        for folder in ("private", "media"):
            (disk / folder).mkdir(parents=True, exist_ok=True)
        self.disks.append(disk)
        return {
            **env,
            "DATABASE_URL": self.database_url,
            "DATABASE_PGBOUNCER": "true",
            "PRIVATE_ROOT": str(disk / "private"),
            "MEDIA_ROOT": str(disk / "media"),
        }

    def describe(self) -> str:
        return (
            f"S3 store (moto) on {self.s3.endpoint}, PgBouncer (transaction pooling, pool "
            f"{POOL_SIZE}, max {MAX_CLIENT_CONN} clients) on :{self.pgbouncer.port}"
        )

    # --- the topology's invariants --------------------------------------------------------

    def checks(self, *, instances: list, tokens: dict[int, str]) -> list:
        """Every invoice downloaded through an app instance (each in turn), compared with
        what its render recorded; then the rows, the bucket and the local disks."""
        from invariants import Check

        from invoices.models import CreditNote, Invoice

        rows = list(
            Invoice.objects.order_by("pk").values_list(
                "number", "order__user_id", "pdf", "pdf_sha256", "rendered_at"
            )
        )
        served: Counter = Counter()
        wrong, on_demand = [], 0
        with requests.Session() as session:
            for n, (number, user_id, _pdf, sha256, _rendered_at) in enumerate(rows):
                instance = instances[n % len(instances)]
                try:
                    response = session.get(
                        f"{instance.base_url}/api/v1/invoices/{number}/pdf/",
                        headers={"Authorization": f"Bearer {tokens[user_id]}"},
                        timeout=(3.05, 30),
                    )
                except requests.RequestException as exc:
                    wrong.append((number, instance.name, type(exc).__name__))
                    continue
                digest = hashlib.sha256(response.content).hexdigest()
                if not sha256:  # never rendered (a refunded order's, task lost): rendered now
                    sha256 = Invoice.objects.filter(number=number).values_list("pdf_sha256", flat=True)[0]
                    on_demand += 1
                if response.status_code != 200 or digest != sha256:
                    wrong.append((number, instance.name, response.status_code))
                else:
                    served[instance.name] += 1
        after = {
            number: (pdf, rendered_at)
            for number, pdf, rendered_at in Invoice.objects.values_list("number", "pdf", "rendered_at")
        }
        rendered_again = [row[0] for row in rows if row[2] and after[row[0]] != (row[2], row[4])]
        on_disk = sorted(
            str(path.relative_to(self.workdir))
            for disk in self.disks
            for path in disk.rglob("*")
            if path.is_file()
        )
        stored = set(self.s3.keys())
        recorded = {pdf for pdf, _rendered_at in after.values() if pdf} | set(
            CreditNote.objects.exclude(pdf="").values_list("pdf", flat=True)
        )
        missing = sorted(name for name in recorded if name not in stored)
        unrecorded = len(stored - recorded)
        return [
            Check(
                "each invoice PDF served by another instance",
                f"{sum(served.values())}/{len(rows)} downloaded as rendered by the Celery workers "
                f"({', '.join(f'{k} {v}' for k, v in sorted(served.items()))}); {len(rendered_again)} rendered "
                f"again on download ({on_demand} never rendered, rendered on this download); {len(on_disk)} files on the {len(self.disks)} local disks"
                + (f"; off: {wrong[:3]}" if wrong else "")
                + (f", e.g. {on_disk[:2]}" if on_disk else ""),
                not wrong and not rendered_again and not on_disk and sum(served.values()) == len(rows),
            ),
            Check(
                "every recorded PDF in the object store",
                f"{len(recorded)} recorded, {len(stored)} objects in the private bucket; missing: "
                f"{missing[:3] or 'none'}; {unrecorded} objects no row records",
                not missing,
            ),
        ]
