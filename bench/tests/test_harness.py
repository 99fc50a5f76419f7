"""The benchmark's own parts that can be checked without a load run: the request file
format, the wrk script's dealing of requests over threads, the result parsing, the
revalidation scenario's ETag detection, the sizing of write workloads, in-process rows
and the target verdicts. They run with the suite (pytest.ini's testpaths)."""

import shutil
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bench import report, scratch, wrk
from bench.fixtures import Menu
from bench.measure import Side, _checked, percentile
from bench.scenarios import prepare_detail_revalidated
from bench.scenarios_checkout import checkout_lines, webhook_requests_for
from bench.worker import CeleryWorker
from bench.workload import Context, Request, Skip, Workload


def test_request_line_has_five_fields_with_dashes_for_none():
    request = Request("POST", "/api/v1/orders/", token="abc", body='{"notes":"x"}')
    assert request.tsv() == 'POST\t/api/v1/orders/\tabc\t-\t{"notes":"x"}'


def test_request_line_has_a_sixth_field_for_prefer():
    request = Request("POST", "/api/v1/cart/items/", token="abc", body="{}", prefer="return=minimal")
    assert request.tsv() == "POST\t/api/v1/cart/items/\tabc\t-\t{}\treturn=minimal"


def test_request_line_refuses_a_tab_in_a_field():
    with pytest.raises(ValueError, match="tab or newline"):
        Request("GET", "/a\tb").tsv()


WRK_OUTPUT = """Running 1s test @ http://127.0.0.1:1
  2 threads and 2 connections
BENCH_RESULT {"requests": 90, "duration_us": 2000000, "bytes": 1, "wraps": 3, "socket_errors": {"connect": 0, "read": 1, "write": 0, "timeout": 2}, "statuses": {"201": 80, "409": 7}, "latency_us": {"mean": 1500.5, "max": 9000, "percentiles": {"50": 1200, "90": 2000, "95": 2500, "99": 8000, "99.9": 9000}}}
"""


def test_wrk_result_is_parsed_into_ms_and_errors():
    result = wrk.parse(WRK_OUTPUT)
    assert (result.requests, result.seconds, result.rps, result.wraps) == (90, 2.0, 45.0, 3)
    assert result.statuses == {201: 80, 409: 7}
    assert result.latency_ms == {
        "mean": 1.5005,
        "max": 9.0,
        "p50": 1.2,
        "p90": 2.0,
        "p95": 2.5,
        "p99": 8.0,
        "p99.9": 9.0,
    }
    # 7 unexpected statuses + 1 read error + 2 timeouts
    assert result.errors(frozenset({201})) == 10


def test_wrk_output_without_a_result_is_an_error():
    with pytest.raises(RuntimeError, match="no result"):
        wrk.parse("unable to connect to 127.0.0.1:1 Connection refused\n")


class Recorder(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    seen: list = []
    lock = threading.Lock()

    def _answer(self) -> None:
        time.sleep(0.005)  # at most 4 x 200 requests a second: the run cannot exhaust the file
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
        with self.lock:
            self.seen.append(
                (
                    self.command,
                    self.path,
                    self.headers.get("Authorization"),
                    self.headers.get("If-None-Match"),
                    body,
                )
            )
        status = 304 if self.headers.get("If-None-Match") else 201 if self.command == "POST" else 200
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_GET = do_POST = _answer

    def log_message(self, *args) -> None:
        pass


@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed (make bench installs it)")
def test_wrk_script_sends_each_prepared_request_once_with_its_headers(tmp_path):
    lines = 3000  # more than a one-second run can send to this server
    requests = []
    for n in range(lines):
        if n % 3 == 0:
            requests.append(Request("GET", f"/plain/{n}"))
        elif n % 3 == 1:
            requests.append(Request("GET", f"/etag/{n}", etag=f'"e{n}"'))
        else:
            requests.append(Request("POST", f"/post/{n}", token=f"t{n}", body=f'{{"n":{n}}}'))
    path = tmp_path / "requests.tsv"
    path.write_text("\n".join(r.tsv() for r in requests) + "\n")
    Recorder.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        process = wrk.run(
            wrk=shutil.which("wrk"),
            base_url=f"http://127.0.0.1:{server.server_address[1]}",
            requests_file=path,
            threads=2,
            connections=4,
            seconds=1,
        )
        result = wrk.finish(process, limit=30)
    finally:
        server.shutdown()
        server.server_close()

    assert result.wraps == 0
    assert 0 < result.requests <= len(Recorder.seen) < lines
    paths = Counter(path for _, path, *_ in Recorder.seen)
    assert max(paths.values()) == 1  # no line twice: each thread sends its own share, in order
    by_path = {r.path: r for r in requests}
    for method, sent_path, authorization, if_none_match, body in Recorder.seen:
        expected = by_path[sent_path]
        assert method == expected.method
        assert authorization == (f"Bearer {expected.token}" if expected.token else None)
        assert if_none_match == expected.etag
        assert body == (expected.body or "")
    assert set(result.statuses) <= {200, 201, 304}
    assert result.errors(frozenset({200, 201, 304})) == 0


def menu() -> Menu:
    slugs = [f"dish-{n}" for n in range(5)]
    return Menu(visible_slugs=slugs, single_ids=[1], single_slugs={1: "dish-0"}, bundle_ids=[], page_count=1)


def context(fetch) -> Context:
    return Context(menu=menu(), shoppers=[], fetch=fetch, connections=8, duration=10, warmup=2)


def test_revalidation_sends_the_etag_each_product_answered_with():
    def fetch(requests: list[Request]):
        return [(200, {"etag": f'W/"{r.path}"'}) for r in requests]

    workload = prepare_detail_revalidated(context(fetch))
    assert len(workload.requests) == 5
    assert all(r.etag == f'W/"{r.path}"' for r in workload.requests)
    assert {r.path for r in workload.requests} == {f"/api/v1/products/dish-{n}/" for n in range(5)}


def test_revalidation_is_skipped_when_the_server_sends_no_etag():
    with pytest.raises(Skip, match="no ETag"):
        prepare_detail_revalidated(context(lambda requests: [(200, {}) for _ in requests]))


def test_write_workloads_are_sized_from_the_rate_measured_earlier():
    ctx = context(None)
    assert ctx.requests_for(10) == 5000 + 160  # nothing measured yet: a quarter of 2000 req/s
    ctx.rates["bare"] = 1000.0
    ctx.rates["cart-add"] = 100.0
    assert ctx.requests_for(10) == 2500 + 160  # a quarter of the bare view's rate is more
    ctx.rates["cart-add"] = 400.0
    assert ctx.requests_for(10, connections=16) == 6000 + 320
    assert ctx.requests_for(0) == 0
    ctx.budget = 7
    assert ctx.requests_for(10) == 7


def row(name: str, rps: float, *, reference=False, target=None, errors=0, p99=10.0, cpu=None) -> dict:
    return {
        "name": name,
        "reference": reference,
        "rps": rps,
        "errors": errors,
        "latency_ms": {"p50": 5.0, "p99": p99},
        "target": target,
        "cpu_ms_per_request": cpu,
    }


def test_ratios_use_the_mean_of_both_bare_runs_and_targets_get_a_verdict():
    rows = [
        row("bare", 1000.0, reference=True, cpu={"app": 0.5, "db": 0.0}),
        row("list", 550.0, target={"min_ratio": 0.5}, cpu={"app": 1.5, "db": 0.5}),
        row("checkout", 90.0, target={"min_ratio": 0.1, "zero_errors": True}, errors=2),
        row("slow", 500.0, target={"max_p99_ms": 50}, p99=60.0),
        row("bare-end", 1200.0, reference=True, cpu={"app": 0.7, "db": 0.0}),
    ]
    reference = report.finish_rows(rows)
    assert reference["bare_rps_mean"] == 1100.0
    assert reference["bare_drift"] == pytest.approx(200 / 1100)
    assert reference["bare_cpu_ms_mean"] == pytest.approx(0.6)
    bare, listing, checkout, slow, _ = rows
    assert listing["ratio"] == 0.5
    assert listing["cpu_ratio"] == pytest.approx(0.3)
    assert (listing["target_met"], listing["target_missed"]) == (True, [])
    assert checkout["target_met"] is False
    assert checkout["target_missed"] == ["ratio 0.082 < 0.1", "2 errors"]
    assert slow["target_missed"] == ["p99 60.0 ms"]
    assert "target_met" not in bare


def test_table_flags_a_missed_target():
    rows = [
        row("bare", 1000.0, reference=True),
        row("list", 100.0, target={"min_ratio": 0.5}),
        row("bare-end", 1000.0, reference=True),
    ]
    for r, title in zip(rows, ["bare", "list", "bare again"], strict=True):
        r.update(
            title=title, requests=10, statuses={}, socket_errors={}, latency_ms={"p50": 1, "p95": 2, "p99": 3}
        )
    rows[1]["target_text"] = ">= 0.5x"
    text = report.table(rows, report.finish_rows(rows))
    assert ">= 0.5x NOT MET (ratio 0.100 < 0.5)" in text
    assert "they differ by 0.0%" in text


def test_workload_default_is_repeatable():
    assert Workload([]).repeatable is True


def test_webhook_deliveries_are_sized_from_the_warm_up_else_from_checkout():
    ctx = context(None)
    assert webhook_requests_for(ctx, 10) == 1200 + 160  # 2 x 40 req/s (no checkout measured) x 1.5
    ctx.rates["checkout"] = 30.0
    ctx.rates["checkout-3"] = 25.0
    assert webhook_requests_for(ctx, 10) == 900 + 160  # 2 x the faster checkout
    assert webhook_requests_for(ctx, 10, rate=50.0, connections=4) == 750 + 80
    assert webhook_requests_for(ctx, 0) == 0
    ctx.budget = 9
    assert webhook_requests_for(ctx, 10, rate=50.0) == 9


def test_checkout_carts_have_two_singles_and_a_bundle():
    menu = Menu(visible_slugs=[], single_ids=[10, 11, 12], single_slugs={}, bundle_ids=[90, 91], page_count=1)
    assert [checkout_lines(i, menu) for i in range(3)] == [
        [(10, 1), (11, 2), (90, 1)],
        [(12, 1), (10, 2), (91, 1)],
        [(11, 1), (12, 2), (90, 1)],
    ]


def test_percentiles_are_nearest_rank():
    values = [float(n) for n in range(1, 101)]
    assert [percentile(values, p) for p in (50, 95, 99, 99.9)] == [50.0, 95.0, 99.0, 100.0]
    assert percentile([7.0], 99) == 7.0


def test_an_in_process_row_gets_no_ratio_and_its_median_is_held_to_the_target():
    rows = [
        row("bare", 1000.0, reference=True, cpu={"app": 0.5}),
        {**row("render", 8.0, target={"max_p50_ms": 100}, cpu={"harness": 120.0}), "in_process": True},
        row("bare-end", 1000.0, reference=True, cpu={"app": 0.5}),
    ]
    rows[1]["latency_ms"]["p50"] = 120.0
    report.finish_rows(rows)
    assert "ratio" not in rows[1]
    assert "cpu_ratio" not in rows[1]
    assert rows[1]["target_missed"] == ["p50 120.0 ms"]


def test_side_processes_cpu_counts_only_what_was_used_in_between():
    before = {"fake": {1: 2.0}, "worker": {5: 1.0}}
    after = {"fake": {1: 2.5}, "worker": {5: 1.25, 6: 0.5}}  # 6: a pool process that started meanwhile
    assert Side.used(before, after) == {"fake": 0.5, "worker": 0.75}


def test_celery_worker_tasks_are_counted_from_its_log(tmp_path):
    log = tmp_path / "celery.log"
    log.write_text(
        "[2026-11-23 02:00:00,000: INFO/MainProcess] celery@x ready.\n"
        "[... INFO/ForkPoolWorker-1] Task invoices.tasks.render_invoice_pdf[ab-1] succeeded in 0.1s: True\n"
        "[... INFO/ForkPoolWorker-1] Task invoices.tasks.render_invoice_pdf[ab-2] succeeded in 0.2s: True\n"
        "[... ERROR/ForkPoolWorker-1] Task invoices.tasks.send_receipt[ab-3] raised unexpected: OSError()\n"
    )
    worker = CeleryWorker(env={}, log=log)
    assert worker.tasks_done() == {
        "invoices.tasks.render_invoice_pdf succeeded": 2,
        "invoices.tasks.send_receipt failed": 1,
    }
    assert worker.pids() == []  # not started: nothing to account or stop
    worker.stop()


def test_app_env_names_the_broker_and_the_pdf_folder_only_when_given():
    plain = scratch.app_env(database_url="postgres://x/y", cache_url=None)
    assert "CELERY_BROKER_URL" not in plain
    assert "PRIVATE_ROOT" not in plain
    full = scratch.app_env(
        database_url="postgres://x/y",
        cache_url=None,
        broker_url="redis://127.0.0.1:1/1",
        private_root="/tmp/p",
    )
    assert (full["CELERY_BROKER_URL"], full["PRIVATE_ROOT"]) == ("redis://127.0.0.1:1/1", "/tmp/p")


def test_a_check_waits_for_the_last_requests_and_adds_what_it_finds_wrong():
    answers = iter([{"orders": 5, "errors": 1}, {"orders": 6, "errors": 0}, {"orders": 6, "errors": 0}])
    looks = []

    def after():
        looks.append(1)
        return dict(next(answers))

    result = {"errors": 2}
    _checked(Workload([], after=after), result)
    assert len(looks) == 3  # read until two looks agreed
    assert result == {"errors": 2, "checked": {"orders": 6}, "checked_errors": 0}


def test_the_table_notes_an_in_process_row_and_errors_found_by_a_check():
    rows = [
        row("bare", 1000.0, reference=True),
        {**row("render", 8.0), "in_process": True, "facts": {"harfbuzz": True}, "cpu_ms_median": 99.0},
        {**row("checkout", 10.0, errors=1), "checked": {"payments_opened": 9}, "checked_errors": 1},
        row("bare-end", 1000.0, reference=True),
    ]
    for r in rows:
        r.update(title=r["name"], requests=10, statuses={}, socket_errors={})
        r["latency_ms"].update(p95=2.0)
    text = report.table(rows, report.finish_rows(rows))
    assert (
        "note: render: timed in the harness, req/s = 1 / mean time; median CPU 99.0 ms; harfbuzz True" in text
    )
    assert (
        "note: checkout: statuses {}, socket errors {}, 1 found by its check ({'payments_opened': 9})" in text
    )


def test_the_peers_table_quotes_the_issue_and_puts_this_run_beside_it():
    rows = [
        row("bare", 2000.0, reference=True),
        row("list", 1200.0),
        row("detail", 900.0),
        row("bare-end", 2000.0, reference=True),
    ]
    text = report.peers_table(rows, report.finish_rows(rows))
    lines = text.splitlines()
    assert lines[2].split() == ["bare", "view", "(req/s)", "2,288", "3,154", "2,000", "-"]
    assert lines[3].split()[-4:] == ["0.112", "0.148", "0.600", "0.5"]
    assert lines[4].split()[-4:] == ["0.062", "0.296", "0.450", "0.6"]
    assert lines[5].split()[-4:] == ["0.018", "0.048", "-", "0.25"]  # not measured in this run
    assert "quoted, not re-run here" in text
