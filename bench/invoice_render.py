"""Invoice PDF render time and memory, per invoice, with 10 and 50 lines.

Renders synthetic invoice snapshots (every fifth line a bundle of three components)
through the same code as the app (`invoices.pdf.document_pdf`), each scenario in a fresh
process so memory figures do not leak from one into the next. Needs no database.

For each line count and font subsetter it prints: the first render in the process (fonts
and stylesheets loaded cold), the median and 95th percentile of the following renders,
the median CPU time of a render (steadier than wall time on a shared machine), the peak
Python heap of one render (tracemalloc) and the process's peak RSS (which
includes WeasyPrint, Pango and the fonts), the PDF size and its page count.

Font subsetting: WeasyPrint 70 subsets the embedded fonts with HarfBuzz's libharfbuzz-subset
when it can load it (Debian: `libharfbuzz-subset0`), else with fontTools in Python (slower,
and logs a deprecation warning on every render). `--subsetter fonttools` forces the
fallback so both can be compared on one machine.

    .venv/bin/python bench/invoice_render.py
    .venv/bin/python bench/invoice_render.py --lines 10 50 100 --repeat 20
"""

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def snapshot(lines: int) -> dict:
    rows = []
    for i in range(lines):
        bundle = i % 5 == 4
        quantity = 1 + i % 3
        unit_price = 12_000 + 1_500 * (i % 11)
        rows.append(
            {
                "name": f"{'Paket' if bundle else 'Nasi Goreng'} nomor {i + 1}",
                "sku": f"SKU-{i + 1:05d}",
                "kind": "bundle" if bundle else "single",
                "price_version": 1 + i % 4,
                "quantity": quantity,
                "unit_price": unit_price,
                "line_total": unit_price * quantity,
                "components": [
                    {"name": f"Component {c}", "sku": f"CMP-{c:03d}", "quantity": 1 + c % 2} for c in range(3)
                ]
                if bundle
                else [],
            }
        )
    total = sum(row["line_total"] for row in rows)
    moment = "2026-11-21T14:05:00+07:00"
    return {
        "version": 1,
        "issued_at": moment,
        "seller": {
            "name": "Foodies",
            "address": "Jl. Sabang No. 10, Jakarta Pusat 10350",
            "tax_id": "01.234.567.8-901.000",
        },
        "buyer": {"name": "Budi Santoso", "email": "budi@example.com", "phone": "+62 812 1111 2222"},
        "order": {"number": "FD-261121-7K3QX9AB", "placed_at": moment, "paid_at": moment},
        "lines": rows,
        "subtotal": total,
        "total": total,
        "currency": "IDR",
        "payment": {
            "method": "qris",
            "method_label": "QRIS",
            "gateway": "midtrans",
            "gateway_label": "Midtrans",
            "transaction_id": "b3f1c1e2-1111-2222-3333-444455556666",
            "paid_at": moment,
        },
    }


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def child(lines: int, repeat: int, subsetter: str) -> dict:
    """One scenario, in this (fresh) process."""
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("DEBUG", "true")
    import logging

    import django

    django.setup()
    logging.disable(logging.WARNING)  # fontTools mode warns on every render
    import weasyprint.pdf.fonts
    from pypdf import PdfReader

    from invoices.pdf import document_pdf

    available = weasyprint.pdf.fonts.harfbuzz_subset is not None
    if subsetter == "fonttools":
        weasyprint.pdf.fonts.harfbuzz_subset = None
    elif not available:
        return {"skipped": "libharfbuzz-subset is not installed"}

    doc = snapshot(lines)
    baseline = peak_rss_mb()

    def render() -> bytes:
        return document_pdf(kind="invoice", number="INV-2026-000001", snapshot=doc)

    start = time.perf_counter()
    pdf = render()
    cold = time.perf_counter() - start
    times, cpu_times = [], []
    for _ in range(repeat):
        start, cpu_start = time.perf_counter(), time.process_time()
        render()
        times.append(time.perf_counter() - start)
        cpu_times.append(time.process_time() - cpu_start)
    tracemalloc.start()
    render()
    heap_peak = tracemalloc.get_traced_memory()[1] / 1024 / 1024
    tracemalloc.stop()
    times.sort()
    from io import BytesIO

    return {
        "cold_ms": cold * 1000,
        "median_ms": statistics.median(times) * 1000,
        "cpu_ms": statistics.median(cpu_times) * 1000,
        "p95_ms": times[min(len(times) - 1, round(0.95 * (len(times) - 1)))] * 1000,
        "heap_mb": heap_peak,
        "rss_mb": peak_rss_mb(),
        "rss_growth_mb": peak_rss_mb() - baseline,
        "pdf_kb": len(pdf) / 1024,
        "pages": len(PdfReader(BytesIO(pdf)).pages),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, nargs="+", default=[10, 50])
    parser.add_argument("--repeat", type=int, default=10, help="warm renders per scenario")
    parser.add_argument("--subsetter", choices=["harfbuzz", "fonttools", "both"], default="both")
    parser.add_argument("--child", nargs=3, metavar=("LINES", "REPEAT", "SUBSETTER"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        lines, repeat, subsetter = args.child
        print(json.dumps(child(int(lines), int(repeat), subsetter)))
        return

    subsetters = ["harfbuzz", "fonttools"] if args.subsetter == "both" else [args.subsetter]
    print(
        "| lines | subsetter | first render ms | median ms | p95 ms | median CPU ms | peak Python heap MB "
        "| peak RSS MB (growth) | PDF KB | pages |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for lines in args.lines:
        for subsetter in subsetters:
            out = subprocess.run(
                [sys.executable, __file__, "--child", str(lines), str(args.repeat), subsetter],
                capture_output=True,
                text=True,
                check=True,
                cwd=ROOT,
            )
            r = json.loads(out.stdout.strip().splitlines()[-1])
            if "skipped" in r:
                print(f"| {lines} | {subsetter} | skipped: {r['skipped']} | | | | | | | |")
                continue
            print(
                f"| {lines} | {subsetter} | {r['cold_ms']:.0f} | {r['median_ms']:.0f} | {r['p95_ms']:.0f} "
                f"| {r['cpu_ms']:.0f} "
                f"| {r['heap_mb']:.1f} | {r['rss_mb']:.0f} ({r['rss_growth_mb']:+.0f}) "
                f"| {r['pdf_kb']:.0f} | {r['pages']} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
