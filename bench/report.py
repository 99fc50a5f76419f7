"""The table printed at the end of a run, the verdict on each target, and the results file."""

import json
import os
import platform
import subprocess
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"
# Above this, the two bare measurements disagree enough that the machine's load changed
# during the run (other processes on the same cores) and the ratios are less trustworthy.
DRIFT_WARNING = 0.15
# Cores used by other processes during a scenario above which its figures are disturbed.
OTHERS_WARNING = 0.25


def _first_line_with(path: str, prefix: str) -> str:
    try:
        for line in Path(path).read_text().splitlines():
            if line.startswith(prefix):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


def _git(*args: str) -> str:
    result = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False)
    return result.stdout.strip()


def machine() -> dict:
    return {
        "nproc": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)),
        "cpu_model": _first_line_with("/proc/cpuinfo", "model name"),
        "memory": _first_line_with("/proc/meminfo", "MemTotal"),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def code() -> dict:
    return {
        "commit": _git("rev-parse", "HEAD"),
        "branch": _git("rev-parse", "--abbrev-ref", "HEAD"),
        "uncommitted_changes": bool(_git("status", "--porcelain", "--untracked-files=no")),
    }


def cpu_ms(row: dict) -> float | None:
    """Server CPU per request: the workers' plus the database backends'."""
    used = row.get("cpu_ms_per_request")
    return sum(used.values()) if used else None


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def reference_figures(rows: list[dict]) -> dict:
    """The bare view's req/s and CPU per request (means of its two measurements), and the
    drift between its two req/s figures."""
    bare = [row for row in rows if row.get("reference") and row.get("rps")]
    rps = [row["rps"] for row in bare]
    mean = _mean(rps)
    return {
        "bare_rps_mean": mean,
        "bare_drift": (max(rps) - min(rps)) / mean if len(rps) > 1 else None,
        "bare_cpu_ms_mean": _mean([c for c in map(cpu_ms, bare) if c]),
    }


def verdict(row: dict, target: dict) -> tuple[bool, list[str]] | None:
    """(met, what missed) for a measured row with a target; None without a target."""
    if not target or row.get("rps") is None:
        return None
    missed = []
    if target.get("min_ratio") is not None and (row["ratio"] or 0) < target["min_ratio"]:
        missed.append(f"ratio {row['ratio']:.3f} < {target['min_ratio']:g}")
    if target.get("max_p50_ms") is not None and row["latency_ms"]["p50"] >= target["max_p50_ms"]:
        missed.append(f"p50 {row['latency_ms']['p50']:.1f} ms")
    if target.get("max_p99_ms") is not None and row["latency_ms"]["p99"] >= target["max_p99_ms"]:
        missed.append(f"p99 {row['latency_ms']['p99']:.1f} ms")
    if target.get("zero_errors") and row["errors"]:
        missed.append(f"{row['errors']} errors")
    return not missed, missed


def finish_rows(rows: list[dict]) -> dict:
    """Fill in ratios and verdicts; returns the reference figures."""
    reference = reference_figures(rows)
    for row in rows:
        # An in-process row (timed in the harness, no HTTP) has nothing to compare with the bare view.
        comparable = not row.get("in_process")
        if comparable and row.get("rps") is not None and reference["bare_rps_mean"]:
            row["ratio"] = row["rps"] / reference["bare_rps_mean"]
        if comparable and cpu_ms(row) and reference["bare_cpu_ms_mean"]:
            row["cpu_ratio"] = reference["bare_cpu_ms_mean"] / cpu_ms(row)
        result = verdict(row, row.get("target") or {})
        if result is not None:
            row["target_met"], row["target_missed"] = result
    return reference


def _cell(value, fmt: str) -> str:
    return "-" if value is None else format(value, fmt)


def table(rows: list[dict], reference: dict) -> str:
    header = (
        f"{'scenario':<40} {'requests':>8} {'req/s':>8} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} "
        f"{'errors':>6} {'ratio':>6} {'CPU ms':>7} {'cpu-r':>6}  target"
    )
    lines = [header, "-" * len(header)]
    notes = []
    for row in rows:
        if row.get("skipped"):
            notes.append(f"{row['title']}: skipped, {row['skipped']}")
            continue
        latency = row["latency_ms"]
        target = row.get("target_text") or ""
        if "target_met" in row:
            target += " met" if row["target_met"] else " NOT MET (" + "; ".join(row["target_missed"]) + ")"
        lines.append(
            f"{row['title'][:40]:<40} {row['requests']:>8} {row['rps']:>8.1f} {latency['p50']:>7.1f} "
            f"{latency['p95']:>7.1f} {latency['p99']:>7.1f} {row['errors']:>6} "
            f"{_cell(row.get('ratio'), '.3f'):>6} {_cell(cpu_ms(row), '.2f'):>7} "
            f"{_cell(row.get('cpu_ratio'), '.3f'):>6}  {target}".rstrip()
        )
        if row["errors"]:
            found = f", {row['checked_errors']} found by its check" if row.get("checked_errors") else ""
            notes.append(
                f"{row['title']}: statuses {row['statuses']}, socket errors {row['socket_errors']}{found}"
                + (f" ({row['checked']})" if row.get("checked_errors") else "")
            )
        if row.get("in_process"):
            facts = ", ".join(f"{k} {v}" for k, v in (row.get("facts") or {}).items())
            notes.append(
                f"{row['title']}: timed in the harness, req/s = 1 / mean time; median CPU "
                f"{row.get('cpu_ms_median', 0):.1f} ms; {facts}"
            )
        if row.get("wraps") and not row.get("repeatable", True):
            notes.append(
                f"{row['title']}: the prepared requests ran out and were reused ({row['wraps']} wraps)"
            )
    if reference["bare_rps_mean"]:
        drift = reference["bare_drift"]
        lines.append("")
        lines.append(
            f"ratio = req/s / {reference['bare_rps_mean']:.1f} (the bare view, mean of its two runs"
            + (f"; they differ by {100 * drift:.1f}%)" if drift is not None else ")")
        )
        lines.append(
            "CPU ms = server CPU per request (gunicorn workers + database backends); "
            "cpu-r = the bare view's CPU ms / this one's (a cross-check of ratio, steadier on a busy machine)"
        )
        if drift is not None and drift > DRIFT_WARNING:
            notes.append(
                f"the bare view's two runs differ by {100 * drift:.0f}%: the machine's load changed during "
                "the run, so the ratios are less trustworthy; run again on a quieter machine"
            )
    busy = [row for row in rows if row.get("others_cores", 0) > OTHERS_WARNING]
    if busy:
        worst = max(busy, key=lambda row: row["others_cores"])
        notes.append(
            f"other processes kept up to {worst['others_cores']:.1f} cores busy during the run "
            f"({', '.join(row['name'] for row in busy)}): req/s and latency are disturbed, cpu-r less so"
        )
    if notes:
        lines.append("")
        lines.extend(f"note: {note}" for note in notes)
    return "\n".join(lines)


# The peers, measured once side by side with Foodies by the same load harness (issue 23's
# table: 2026-12-07, gunicorn gthread 2x4, PostgreSQL 15, 1,000+ products, 8 clients x 15 s,
# no shared cache). `make bench` does not install or run them: their figures are quoted,
# Foodies' column is this run's. Ratio = req/s / the same stack's bare JSON view.
PEERS_MEASURED = "2026-12-07"
PEERS = (
    # (this run's scenario, the issue's row, oscar 4.2 + oscar-api, salesman 1.3, target)
    ("bare", "bare view (req/s)", 2288, 3154, None),
    ("list", "product list, page of 20", 0.112, 0.148, 0.5),
    ("detail", "product detail", 0.062, 0.296, 0.6),
    ("cart-add", "add to cart", 0.018, 0.048, 0.25),
    ("checkout", "checkout (1 line, payment opened)", 0.011, 0.005, 0.1),
)
PEERS_NOTE = "salesman's checkout: 731 of its requests were HTTP 500"


def peers_table(rows: list[dict], reference: dict) -> str:
    """The issue's side-by-side table with this run as Foodies' column."""
    by_name = {row.get("name"): row for row in rows if not row.get("skipped")}

    def ours(name: str) -> str:
        if name == "bare":
            return _cell(reference.get("bare_rps_mean"), ",.0f")
        return _cell((by_name.get(name) or {}).get("ratio"), ".3f")

    header = f"{'scenario':<36} {'oscar+api':>10} {'salesman':>10} {'Foodies':>10} {'target':>7}"
    lines = [header, "-" * len(header)]
    for name, label, oscar, salesman, target in PEERS:
        fmt = ",.0f" if name == "bare" else ".3f"
        lines.append(
            f"{label:<36} {format(oscar, fmt):>10} {format(salesman, fmt):>10} {ours(name):>10} "
            f"{_cell(target, 'g'):>7}"
        )
    lines.append("")
    lines.append(
        f"oscar+api (django-oscar 4.2 + oscar-api) and salesman (django-salesman 1.3): measured "
        f"{PEERS_MEASURED} by the same harness, quoted, not re-run here; {PEERS_NOTE}. Foodies: this run."
    )
    return "\n".join(lines)


def save(document: dict) -> tuple[Path, Path]:
    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    text = json.dumps(document, indent=2, sort_keys=False) + "\n"
    paths = []
    for name in (f"{stamp}-{document['settings']['database']}.json", "latest.json"):
        path = RESULTS / name
        partial = path.with_suffix(".tmp")
        partial.write_text(text)
        partial.replace(path)
        paths.append(path)
    return paths[0], paths[1]
