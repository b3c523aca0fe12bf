"""Payments (DOMAIN §7): the cashier, provider callbacks applied exactly once, and refunds.

- `cashier`: a payment for a payment order, its risk-decided authentication level, and the
  provider transaction the buyer pays.
- `webhooks`: the signed callback endpoint; stores each notification once and enqueues its job.
- `callbacks`: applies a stored notification in one transaction (payments, refunds).
- `refunds`: the refund primitive, late-payment refunds and the buyer's REFUND_ONLY cancellation.
- `gateway`: our HTTP client of a provider's API (today the sandbox, app/sandbox/).
"""
