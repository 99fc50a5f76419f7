"""Every write to payments, one module per step (DESIGN.md §4, §7): `opening` (attempts at
the gateway), `webhook` (notifications), `apply` (the one code path that applies what the
gateway says), `reconcile` (lost notifications, and the expiry of unpaid orders),
`refunds`. What a payment does to its order and documents is `payments.settlement`.

Two rules hold everywhere: the network is never called inside a transaction or while a
row is locked, and every gateway answer goes through `apply.payment_apply`.
"""
