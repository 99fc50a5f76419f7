from django.db.models import Prefetch, QuerySet, Sum

from accounts.models import User
from accounts.permissions import staff_has_perm
from invoices.models import CreditNote, Invoice

# The admin's permission for the same documents (invoices and their credit notes).
VIEW_ALL = "invoices.view_invoice"


def _visible(user: User) -> QuerySet[Invoice]:
    """Every invoice for staff holding invoices.view_invoice; anyone else (other staff
    included) only those of their own orders."""
    return (
        Invoice.objects.all() if staff_has_perm(user, VIEW_ALL) else Invoice.objects.filter(order__user=user)
    )


def invoice_list(*, user: User) -> QuerySet[Invoice]:
    """Invoices the user may see, newest first: those of their own orders, or all for
    staff who may view invoices. The order comes joined and the credit notes in one more query."""
    return (
        _visible(user)
        .select_related("order")
        .prefetch_related(Prefetch("credit_notes", queryset=CreditNote.objects.order_by("issued_at", "id")))
        .order_by("-issued_at", "-id")
    )


def invoice_get(*, user: User, number: str) -> Invoice:
    """One invoice by number, if the user may see it; else Invoice.DoesNotExist (another
    user's invoice is indistinguishable from one that does not exist)."""
    return invoice_list(user=user).get(number=number)


def invoice_for_download(*, user: User, number: str) -> Invoice:
    """The invoice to stream as a PDF: one query, without the snapshot (read only if the
    PDF must be rendered first) or the credit notes."""
    return _visible(user).defer("snapshot").get(number=number)


def credit_note_get(*, user: User, invoice_number: str, number: str) -> CreditNote:
    """One credit note of one invoice the user may see; else CreditNote.DoesNotExist."""
    qs = CreditNote.objects.select_related("invoice")
    if not staff_has_perm(user, VIEW_ALL):
        qs = qs.filter(invoice__order__user=user)
    return qs.get(invoice__number=invoice_number, number=number)


def invoice_credited(*, invoice: Invoice) -> int:
    """Rupiah credited so far against `invoice` (its total minus this may still be
    credited: what a full refund of a partly refunded order credits)."""
    return invoice.credit_notes.aggregate(total=Sum("amount"))["total"] or 0


def documents_to_render(*, force: bool = False) -> tuple[QuerySet[Invoice], QuerySet[CreditNote]]:
    """Invoices and credit notes whose PDF has not been rendered yet (all of them with
    `force`), oldest first."""
    invoices = Invoice.objects.order_by("issued_at", "id")
    credit_notes = CreditNote.objects.order_by("issued_at", "id")
    if not force:
        invoices, credit_notes = invoices.filter(pdf=""), credit_notes.filter(pdf="")
    return invoices, credit_notes
