def rupiah(amount: int) -> str:
    """Whole rupiah the Indonesian way, for people (admin, invoices): 25000 -> "Rp 25.000"."""
    return f"Rp {amount:,}".replace(",", ".")
