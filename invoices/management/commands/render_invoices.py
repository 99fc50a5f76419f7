"""Render the invoice and credit note PDFs that are missing (after an outage of the
background workers, a restore, or a template change with --force)."""

import time

from django.core.management.base import BaseCommand, CommandError

from invoices import selectors, services

BAR_WIDTH = 30


def progress_bar(done: int, total: int) -> str:
    filled = BAR_WIDTH * done // total
    return f"[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {100 * done // total:3d}% {done}/{total}"


class Command(BaseCommand):
    help = (
        "Render the PDFs of invoices and credit notes that have none yet, oldest first, with "
        "a progress bar. --force re-renders every one from its snapshot. Safe to run while "
        "the background workers render too."
    )

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true", help="Re-render documents that have a PDF.")

    def handle(self, *args, force: bool = False, **options):
        invoices, credit_notes = selectors.documents_to_render(force=force)
        jobs = [
            *((invoice, services.invoice_render_pdf, "invoice") for invoice in invoices),
            *((note, services.credit_note_render_pdf, "credit_note") for note in credit_notes),
        ]
        if not jobs:
            self.stdout.write("Every invoice and credit note has its PDF.")
            return
        failed = []
        started = time.monotonic()
        for done, (document, render, argument) in enumerate(jobs, start=1):
            began = time.monotonic()
            try:
                render(**{argument: document, "force": force})
            except Exception as exc:  # reported below; the others still render
                failed.append(document.number)
                self.stderr.write(f"{document.number}: {type(exc).__name__}: {exc}")
            self.stdout.write(
                f"{progress_bar(done, len(jobs))} {document.number} ({time.monotonic() - began:.2f} s)"
            )
        rendered = len(jobs) - len(failed)
        self.stdout.write(f"Rendered {rendered} PDF(s) in {time.monotonic() - started:.1f} s.")
        if failed:
            raise CommandError(f"{len(failed)} PDF(s) failed: {', '.join(failed)}")
