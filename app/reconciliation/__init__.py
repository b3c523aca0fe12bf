"""Reconciliation (对账, DOMAIN §7, issue 10 item 6): the payment provider's daily statement
matched against our payments and refunds; every difference listed for the back office to
resolve. docs/reconciliation.md describes the design."""
