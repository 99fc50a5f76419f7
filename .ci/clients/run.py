"""Generated clients (`make clients`; issue 18): a TypeScript and a Python client generated
from the live OpenAPI schema drive the README's shopper and staff journeys, type-checked
strictly and without casts, and openapi-core checks every answer they got against the schema.

1. A scratch SQLite database in a temp dir: migrate, seed (the menu, hours, slots, staff
   groups), opening hours round the clock (a run in the evening must still take orders
   "as soon as possible"), a staff Manager with a random password.
2. gunicorn on a free 127.0.0.1 port with production settings and the mock payment
   gateway; a recording proxy (recorder.py) in front of it, which the clients talk to.
3. The schema from the server's /api/schema/. TypeScript: openapi-typescript writes
   build/schema.d.ts; lint_ts.mjs refuses casts (`as`, `<T>x`, `!`, `any`, ts-ignore);
   `tsc --noEmit --strict`; compiled, journey.ts runs with openapi-fetch. Python:
   openapi-python-client generates `foodies_client` into the temp dir; journey.py is
   checked for `cast(`, `type: ignore` and `Any`, then `mypy --strict`, then run.
4. openapi-core validates every recorded answer (and every request that succeeded).

The server and the proxy are stopped at the end, also on failure; the temp dir is removed
unless the run failed or --keep is given. Tools come from `make clients` (npm ci in this
directory, requirements.txt here into .venv).

    make clients
    .venv/bin/python .ci/clients/run.py --keep
"""

import argparse
import ast
import io
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import tokenize
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
for path in (ROOT, HERE):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from recorder import Recorder, dump, summary, validate  # noqa: E402

from bench import scratch  # noqa: E402
from bench.server import Server  # noqa: E402

BIN = Path(sys.executable).parent
NODE_BIN = HERE / "node_modules" / ".bin"
BUILD = HERE / "build"
STAFF_EMAIL = "staff@clients.example.com"


def _terminate(signum, frame):
    raise SystemExit(f"stopped by signal {signum}")


def step(title: str) -> None:
    print(f"--- {title}", flush=True)


def run(command: list, *, env: dict | None = None, cwd: Path = HERE) -> None:
    """A tool's run; its output is shown, and a failure stops the whole run."""
    result = subprocess.run([str(part) for part in command], cwd=cwd, env=env, check=False)
    if result.returncode != 0:
        raise SystemExit(f"failed ({result.returncode}): {' '.join(str(p) for p in command)}")


def seed_database(staff_password: str) -> None:
    """The menu and the staff account, through the project's own command and services."""
    import django

    django.setup()
    from django.contrib.auth.models import Group
    from django.core.management import call_command
    from django.db import connections

    from accounts.models import User
    from accounts.roles import MANAGER
    from bench.fixtures import shop_open_always

    call_command("migrate", interactive=False, verbosity=0)
    with open(os.devnull, "w") as quiet:
        call_command("seed", stdout=quiet)
    shop_open_always()
    staff = User.objects.create_user(email=STAFF_EMAIL, password=staff_password, name="Staff", is_staff=True)
    staff.groups.add(Group.objects.get(name=MANAGER))  # every staff power (accounts/roles.py)
    connections.close_all()


def lint_python(source: Path) -> list[str]:
    """What would silence mypy instead of satisfying it: typing.cast, `# type: ignore`, Any."""
    text = source.read_text()
    problems = []
    for token in tokenize.generate_tokens(io.StringIO(text).readline):
        if token.type == tokenize.COMMENT and "type:" in token.string and "ignore" in token.string:
            problems.append(f"{source.name}:{token.start[0]}: type: ignore")
    for node in ast.walk(ast.parse(text)):
        name = None
        if isinstance(node, ast.Name):
            name = node.id
        elif isinstance(node, ast.Attribute):
            name = node.attr
        elif isinstance(node, ast.alias):
            name = node.name
        if name in ("cast", "Any"):
            problems.append(f"{source.name}:{getattr(node, 'lineno', '?')}: {name}")
    return problems


# What each cast check must find (one per line), so a check that stopped seeing a kind of
# cast fails the run rather than passing every journey.
TS_CASTS = """const a: any = 1;
const b = a as number;
const c = <number>a;
const d = document!;
// @ts-ignore
"""
PY_CASTS = """from typing import Any, cast
x: Any = cast(int, 1)  # type: ignore[misc]
"""


def lint_self_test(workdir: Path, env: dict) -> None:
    bad = workdir / "casts.ts"
    bad.write_text(TS_CASTS)
    result = subprocess.run(["node", HERE / "lint_ts.mjs", bad], env=env, capture_output=True, text=True)
    reported = [line for line in result.stderr.splitlines() if line.startswith(str(bad))]
    if result.returncode != 1 or len(reported) != 5:
        raise SystemExit(f"lint_ts.mjs missed casts ({result.returncode}):\n{result.stderr}")
    bad = workdir / "casts.py"
    bad.write_text(PY_CASTS)
    reported = lint_python(bad)
    if len(reported) != 5:  # Any twice, cast twice (import and call), type: ignore
        raise SystemExit(f"lint_python missed casts: {reported}")


def typescript(*, schema: Path, workdir: Path, env: dict) -> None:
    step("TypeScript: openapi-typescript, lint (no casts), tsc --noEmit --strict, the journeys")
    BUILD.mkdir(exist_ok=True)
    # --default-non-nullable=false: a request field with a server default stays optional
    # (openapi-typescript 7 would otherwise make it required in requests too).
    run(
        [
            NODE_BIN / "openapi-typescript",
            schema,
            "--default-non-nullable=false",
            "--output",
            BUILD / "schema.d.ts",
        ],
        env=env,
    )
    run(["node", HERE / "lint_ts.mjs", HERE / "journey.ts"], env=env)
    run([NODE_BIN / "tsc", "--project", HERE / "tsconfig.json", "--noEmit", "--strict"], env=env)
    run([NODE_BIN / "tsc", "--project", HERE / "tsconfig.json", "--outDir", BUILD], env=env)
    run(["node", BUILD / "journey.js"], env=env)


def python(*, schema: Path, workdir: Path, env: dict) -> None:
    step("Python: openapi-python-client, lint (no casts), mypy --strict, the journeys")
    package = workdir / "py" / "foodies_client"
    package.parent.mkdir()
    run(
        [
            BIN / "openapi-python-client",
            "generate",
            "--path",
            schema,
            "--output-path",
            package,
            "--meta",
            "none",
            "--config",
            HERE / "openapi-python-client.yaml",
        ],
        env=env,
    )
    problems = lint_python(HERE / "journey.py")
    if problems:
        raise SystemExit("journey.py silences the type checker:\n" + "\n".join(problems))
    checked = {**env, "MYPYPATH": str(package.parent)}
    run(
        [
            BIN / "mypy",
            "--strict",
            "--cache-dir",
            workdir / "mypy-cache",
            "--no-error-summary",
            HERE / "journey.py",
        ],
        env=checked,
    )
    run([sys.executable, HERE / "journey.py"], env={**env, "PYTHONPATH": str(package.parent)})


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (schema, clients, logs)")
    parser.add_argument("--only", choices=["ts", "py"], help="one of the two clients")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, _terminate)
    began = time.monotonic()
    for tool in (
        NODE_BIN / "openapi-typescript",
        NODE_BIN / "tsc",
        BIN / "openapi-python-client",
        BIN / "mypy",
    ):
        if not tool.exists():
            raise SystemExit(f"{tool} is missing: run `make clients` (it installs the tools)")
    workdir = Path(tempfile.mkdtemp(prefix="foodies-clients-"))
    staff_password = "clients-" + secrets.token_urlsafe(12)  # this run's account only
    env = {
        **os.environ,
        **scratch.app_env(
            database_url=f"sqlite:///{workdir / 'db.sqlite3'}",
            cache_url=None,
            private_root=str(workdir / "private"),
        ),
        "BENCH_ROUTES": "false",  # the schema the clients see is the one deployed
        "PAYMENT_GATEWAY": "mock",
        "PAYMENT_MOCK_ALLOWED": "true",  # DEBUG is off: the mock runs only when allowed
        "API_DOCS_PUBLIC": "true",  # the clients are generated from the server's schema
        "PUBLIC_BASE_URL": "http://127.0.0.1",
        "EMAIL_URL": "dummymail://",
        "CELERY_BROKER_URL": "",
        "MEDIA_ROOT": str(workdir / "media"),
        "MOCK_GATEWAY_KEY": "mock-clients-" + secrets.token_hex(16),
        "CORS_ALLOWED_ORIGINS": "",
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    os.environ.update(env)
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    server = recorder = None
    failed = True
    try:
        step("scratch database: migrate, seed, a staff Manager")
        seed_database(staff_password)
        server = Server(env=env, workers=2, threads=4, log=workdir / "gunicorn.log", balanced=False)
        server.serve(connections=8)
        recorder = Recorder(upstream=("127.0.0.1", server.port))
        proxy_url = recorder.start()
        # bandit B310 (url scheme): our own gunicorn, http://127.0.0.1:<port>.
        with urllib.request.urlopen(f"{server.base_url}/api/schema/?format=json", timeout=30) as answer:  # nosec B310
            spec = json.loads(answer.read())
        schema = workdir / "schema.json"
        schema.write_text(json.dumps(spec))
        lint_self_test(workdir, os.environ.copy())
        print(
            f"set up in {time.monotonic() - began:.1f}s: gunicorn {server.base_url}, recorded through {proxy_url}"
        )
        client_env = {
            **os.environ,
            "FOODIES_API": proxy_url,
            "FOODIES_STAFF_EMAIL": STAFF_EMAIL,
            "FOODIES_STAFF_PASSWORD": staff_password,
        }
        # A client that fails does not stop the other; the traffic of both is validated.
        failures = []
        for short, name, client in (("ts", "typescript", typescript), ("py", "python", python)):
            if args.only not in (None, short):
                continue
            recorder.client = name
            try:
                client(schema=schema, workdir=workdir, env=client_env)
            except SystemExit as failure:
                failures.append(f"{name}: {failure}")
        step("openapi-core: every recorded answer against the schema")
        dump(recorder.exchanges, workdir / "traffic.jsonl")
        problems = validate(spec, recorder.exchanges, host_url=proxy_url)
        print(summary(recorder.exchanges))
        for problem in problems:
            print(problem)
        errors = [line for line in server.log_tail(200).splitlines() if "Traceback" in line]
        if errors:
            print(f"the server logged errors:\n{server.log_tail(60)}")
        for failure in failures:
            print(f"FAILED {failure}")
        if not recorder.exchanges:
            failures.append("no traffic was recorded")
        failed = bool(problems or errors or failures)
        verdict = f"{len(problems)} mismatches" if problems else "no mismatch"
        print(f"{len(recorder.exchanges)} answers validated, {verdict}; took {time.monotonic() - began:.1f}s")
        return 1 if failed else 0
    finally:
        if recorder is not None and hasattr(recorder, "server"):
            recorder.stop()
        if server is not None:
            server.stop()
        if failed or args.keep:
            print(f"schema, generated clients, traffic and the server log kept in {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
