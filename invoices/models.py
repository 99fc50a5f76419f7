# Invoice and InvoiceSequence arrive with the invoices issue (DESIGN.md §3, §8).
