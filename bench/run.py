"""Load benchmark: the menu and checkout under concurrent HTTP load, on 127.0.0.1 only.

Sets up a scratch database, seeds the demo menu plus generated products, starts gunicorn
with production-like settings, sends a bounded number of requests from threads, and
prints latency percentiles and throughput per scenario. After the checkout scenario it
checks that stock adds up (nothing oversold, nothing lost).

    .venv/bin/python bench/run.py                       # PostgreSQL scratch db (default)
    .venv/bin/python bench/run.py --db sqlite           # SQLite file in /tmp
    .venv/bin/python bench/run.py --products 10000 --requests 600 --concurrency 8

The scratch database is dropped (PostgreSQL) or deleted (SQLite) afterwards.
"""

import argparse
import json
import os
import secrets
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN = "postgres://postgres@127.0.0.1:5432/postgres"
PG_NAME = "foodies_bench"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", choices=["postgres", "sqlite"], default="postgres")
    parser.add_argument("--products", type=int, default=10_000, help="generated products on top of the menu")
    parser.add_argument("--requests", type=int, default=400, help="requests per read scenario")
    parser.add_argument("--concurrency", type=int, default=8, help="client threads")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn worker processes")
    parser.add_argument("--shoppers", type=int, default=200, help="checkouts in the checkout scenario")
    parser.add_argument("--port", type=int, default=8765)
    return parser.parse_args()


def scratch_env(args: argparse.Namespace) -> dict[str, str]:
    if args.db == "postgres":
        url = f"postgres://postgres@127.0.0.1:5432/{PG_NAME}"
    else:
        url = f"sqlite:////tmp/{PG_NAME}.sqlite3"
    return {
        **os.environ,
        "DATABASE_URL": url,
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "false",
        "SESSION_COOKIE_SECURE": "false",
        "CSRF_COOKIE_SECURE": "false",
        # The benchmark measures the service, not the throttle.
        "THROTTLE_LOGIN": "100000/min",
        "THROTTLE_CHECKOUT": "100000/min",
        "LOG_LEVEL": "ERROR",
    }


def create_database(args: argparse.Namespace) -> None:
    if args.db == "postgres":
        subprocess.run(["dropdb", "-h", "127.0.0.1", "-U", "postgres", "--if-exists", PG_NAME], check=True)
        subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", PG_NAME], check=True)
    else:
        for suffix in ("", "-wal", "-shm"):
            Path(f"/tmp/{PG_NAME}.sqlite3{suffix}").unlink(missing_ok=True)


def drop_database(args: argparse.Namespace) -> None:
    if args.db == "postgres":
        subprocess.run(["dropdb", "-h", "127.0.0.1", "-U", "postgres", "--if-exists", PG_NAME], check=True)
    else:
        for suffix in ("", "-wal", "-shm"):
            Path(f"/tmp/{PG_NAME}.sqlite3{suffix}").unlink(missing_ok=True)


def make_shoppers(count: int, slug: str) -> tuple[list[str], int]:
    """`count` shoppers with one unit of `slug` in their cart, racing for count // 2 units."""
    from rest_framework_simplejwt.tokens import RefreshToken

    from accounts.models import User
    from cart.services import cart_add_item
    from catalog.models import Product

    product = Product.objects.get(slug=slug)
    product.stock = count // 2
    product.save(update_fields=["stock"])
    tokens = []
    for i in range(count):
        user = User.objects.create_user(email=f"bench{i}@example.com", password=None, name=f"Bench {i}")
        cart_add_item(user=user, product=product, quantity=1)
        tokens.append(str(RefreshToken.for_user(user).access_token))
    return tokens, product.stock


def request(
    url: str, method: str = "GET", body: dict | None = None, token: str | None = None
) -> tuple[int, float]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method)
    req.add_header("Accept", "application/json")
    if data is not None:
        req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(req, timeout=30) as response:
            response.read()
            status = response.status
    except urllib.error.HTTPError as error:
        error.read()
        status = error.code
    return status, time.perf_counter() - started


def scenario(name: str, calls: list, concurrency: int) -> dict:
    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        results = list(pool.map(lambda call: call(), calls))
    wall = time.perf_counter() - started
    latencies = sorted(lat for _, lat in results)

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000

    row = {
        "scenario": name,
        "requests": len(results),
        "statuses": dict(Counter(status for status, _ in results)),
        "rps": len(results) / wall,
        "p50_ms": pct(0.50),
        "p95_ms": pct(0.95),
        "p99_ms": pct(0.99),
        "mean_ms": statistics.fmean(latencies) * 1000,
    }
    print(
        f"{name:<40} {row['requests']:>5} req  {row['rps']:7.1f} req/s  p50 {row['p50_ms']:6.1f} ms  "
        f"p95 {row['p95_ms']:6.1f} ms  p99 {row['p99_ms']:6.1f} ms  {row['statuses']}",
        flush=True,
    )
    return row


def wait_until_up(base: str, server: subprocess.Popen) -> None:
    for _ in range(100):
        if server.poll() is not None:
            raise SystemExit("gunicorn exited; see its output above")
        try:
            if request(f"{base}/api/v1/health/")[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit("gunicorn did not come up")


def main() -> None:
    args = parse_args()
    env = scratch_env(args)
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django
    from django.core.management import call_command

    django.setup()
    create_database(args)
    server = None
    try:
        call_command("migrate", interactive=False, verbosity=0)
        call_command("collectstatic", interactive=False, verbosity=0)  # as `make serve` does
        started = time.perf_counter()
        call_command("seed", products=args.products, stdout=open(os.devnull, "w"))  # noqa: SIM115
        print(
            f"database: {args.db}; seeded menu + {args.products} products in {time.perf_counter() - started:.1f}s"
        )
        tokens, stock = make_shoppers(args.shoppers, "es-teh-manis")

        base = f"http://127.0.0.1:{args.port}"
        server = subprocess.Popen(
            [
                str(ROOT / ".venv" / "bin" / "gunicorn"),
                "config.wsgi:application",
                "--bind",
                f"127.0.0.1:{args.port}",
                "--workers",
                str(args.workers),
                "--log-level",
                "warning",
            ],
            cwd=ROOT,
            env=env,
        )
        wait_until_up(base, server)
        api = f"{base}/api/v1"
        n, c = args.requests, args.concurrency
        print(f"gunicorn workers: {args.workers}; client threads: {c}")
        scenario("GET health/", [lambda: request(f"{api}/health/")] * n, c)
        scenario("GET products/ (page 1, 20)", [lambda: request(f"{api}/products/")] * n, c)
        scenario("GET products/?page_size=100", [lambda: request(f"{api}/products/?page_size=100")] * n, c)
        pages = [lambda p=p: request(f"{api}/products/?page={p}&page_size=50") for p in range(1, n + 1)]
        scenario("GET products/ deep pages (50 each)", pages, c)
        scenario(
            "GET products/ filtered + ordered",
            [lambda: request(f"{api}/products/?available=true&min_price=10000&ordering=-price")] * n,
            c,
        )
        scenario("GET products/?search=nasi", [lambda: request(f"{api}/products/?search=nasi")] * n, c)
        scenario(
            "GET products/{bundle}/", [lambda: request(f"{api}/products/paket-hemat-nasi-goreng/")] * n, c
        )

        checkout = scenario(
            f"POST orders/ ({len(tokens)} shoppers, stock {stock})",
            [lambda t=t: request(f"{api}/orders/", "POST", {}, t) for t in tokens],
            c,
        )
        sold = checkout["statuses"].get(201, 0)
        left = json.loads(urllib.request.urlopen(f"{api}/products/es-teh-manis/").read())["stock"]
        assert (sold, left) == (stock, 0), f"stock does not add up: sold {sold}, left {left}"
        assert set(checkout["statuses"]) <= {201, 409}, checkout["statuses"]
        print(
            f"checkout: {sold} sold, {checkout['statuses'].get(409, 0)} refused, stock left {left}: adds up"
        )
    finally:
        if server is not None:
            server.terminate()
            server.wait(10)
        from django.db import connections

        connections.close_all()
        drop_database(args)


if __name__ == "__main__":
    main()
