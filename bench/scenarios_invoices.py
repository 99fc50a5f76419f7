"""The invoice scenarios of `bench/scenarios.py`: stored PDFs downloaded over HTTP and
the PDF render timed in-process.
"""

import statistics
import subprocess
import time
from collections import Counter
from typing import Any

from bench import fixtures
from bench.scenarios_checkout import settled_notifications
from bench.workload import (
    API,
    INVOICE_PDFS,
    INVOICE_RENDERS,
    Context,
    Request,
    Skip,
    Timings,
    Workload,
    json_text,
    shuffled,
)

# --- invoices -------------------------------------------------------------------------------


def _paid_invoices(ctx: Context, *, count: int) -> list:
    """Up to `count` invoices of this run's paid orders, three-line orders first; when there
    are too few, more orders are paid in the harness through the webhook's service."""
    from invoices.models import Invoice
    from payments.services.webhook import notification_handle

    def found() -> list[Invoice]:
        invoices = list(Invoice.objects.select_related("order").order_by("id"))
        three = [invoice for invoice in invoices if len(invoice.snapshot["lines"]) == 3]
        rest = [invoice for invoice in invoices if len(invoice.snapshot["lines"]) != 3]
        return (three + rest)[:count]

    invoices = found()
    if len(invoices) < count and ctx.gateway is not None:
        for body in settled_notifications(ctx, count=count - len(invoices)):
            notification_handle(raw_body=json_text(body).encode())
        invoices = found()
    if not invoices:
        raise Skip("no paid order to invoice")
    return invoices


def prepare_invoice_pdf(ctx: Context) -> Workload:
    """Each shopper downloads their invoice's PDF, already rendered and stored (rendered
    here first where the worker has not yet): the download only streams the file."""
    from invoices.models import Invoice
    from invoices.services import invoice_render_pdf

    invoices = _paid_invoices(ctx, count=ctx.budget or INVOICE_PDFS)
    rendered_here = 0
    for invoice in invoices:
        if not invoice.pdf:
            invoice_render_pdf(invoice=invoice)
            rendered_here += 1
    ids = [invoice.pk for invoice in invoices]
    rendered_at = dict(Invoice.objects.filter(pk__in=ids).values_list("pk", "rendered_at"))
    tokens = fixtures.tokens_for(user_ids=list({invoice.order.user_id for invoice in invoices}))
    requests = [
        Request("GET", f"{API}/invoices/{invoice.number}/pdf/", token=tokens[invoice.order.user_id])
        for invoice in shuffled(invoices, seed=5)
    ]

    def after() -> dict[str, Any]:
        now = dict(Invoice.objects.filter(pk__in=ids).values_list("pk", "rendered_at"))
        rerendered = sum(1 for pk in ids if now[pk] != rendered_at[pk])
        return {"rendered_during_run": rerendered, "errors": rerendered}

    sizes = [invoice.pdf_size for invoice in Invoice.objects.filter(pk__in=ids)]
    return Workload(
        requests,
        note=(
            f"{len(invoices)} stored PDFs ({rendered_here} rendered by the harness first), "
            f"{statistics.fmean(sizes) / 1024:.0f} KB on average"
        ),
        after=after,
    )


def harfbuzz_subset() -> dict[str, Any]:
    """Whether WeasyPrint subsets fonts with HarfBuzz (fast) or fontTools (slow), and the
    Debian package behind it."""
    import weasyprint.pdf.fonts

    try:
        version = subprocess.run(
            ["dpkg-query", "-W", "-f=${Status} ${Version}", "libharfbuzz-subset0"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout
    except FileNotFoundError:
        version = ""
    installed = version.startswith("install ok installed")
    return {
        "weasyprint_uses_harfbuzz_subset": weasyprint.pdf.fonts.harfbuzz_subset is not None,
        "libharfbuzz_subset0": version.rsplit(" ", 1)[-1] if installed else None,
    }


def prepare_invoice_render(ctx: Context) -> Workload:
    """The PDF of a real invoice of the run (three lines, a bundle among them, where the
    webhook scenario paid such orders), rendered again from its snapshot and stored, timed
    in the harness: `invoice_render_pdf(force=True)`, as the worker's task does."""
    invoices = _paid_invoices(ctx, count=INVOICE_RENDERS[1])
    low, high = INVOICE_RENDERS
    limit = ctx.budget or high

    def run() -> Timings:
        from invoices.services import invoice_render_pdf

        invoice_render_pdf(invoice=invoices[0], force=True)  # untimed: templates, fonts, CSS loaded
        wall, cpu, sizes, lines = [], [], [], Counter()
        began = time.monotonic()
        for i in range(limit):
            if i >= low and time.monotonic() - began > ctx.duration:
                break
            invoice = invoices[i % len(invoices)]
            started, cpu_started = time.perf_counter(), time.process_time()
            invoice_render_pdf(invoice=invoice, force=True)
            wall.append(1000 * (time.perf_counter() - started))
            cpu.append(1000 * (time.process_time() - cpu_started))
            sizes.append(invoice.pdf_size)
            lines[len(invoice.snapshot["lines"])] += 1
        return Timings(
            wall_ms=wall,
            cpu_ms=cpu,
            facts={
                **harfbuzz_subset(),
                "lines_per_invoice": dict(sorted(lines.items())),
                "pdf_kb_mean": round(statistics.fmean(sizes) / 1024, 1),
            },
        )

    return Workload(
        [],
        run=run,
        note=f"up to {limit} renders over {len(invoices)} invoices, in the harness process",
    )
