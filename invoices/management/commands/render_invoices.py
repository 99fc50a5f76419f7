"""Render the invoice and credit note PDFs that are missing (after an outage of the
background workers, a restore, or a template change with --force)."""

import time

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from invoices import selectors, services


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
        # On a terminal a bar redrawn in place; elsewhere (logs, CI) a line per document.
        terminal = self.stdout.isatty()
        bar = tqdm(total=len(jobs), unit="PDF", file=self.stdout._out, disable=not terminal)
        for done, (document, render, argument) in enumerate(jobs, start=1):
            began = time.monotonic()
            try:
                render(**{argument: document, "force": force})
            except Exception as exc:  # reported below; the others still render
                failed.append(document.number)
                bar.write(f"{document.number}: {type(exc).__name__}: {exc}", file=self.stderr._out)
            bar.set_postfix_str(document.number, refresh=False)
            bar.update()
            if not terminal:
                self.stdout.write(f"{done}/{len(jobs)} {document.number} ({time.monotonic() - began:.2f} s)")
        bar.close()
        rendered = len(jobs) - len(failed)
        self.stdout.write(f"Rendered {rendered} PDF(s) in {time.monotonic() - started:.1f} s.")
        if failed:
            raise CommandError(f"{len(failed)} PDF(s) failed: {', '.join(failed)}")
