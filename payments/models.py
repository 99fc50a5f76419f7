# Payment and PaymentNotification arrive with the payments issue (DESIGN.md §3, §7).
