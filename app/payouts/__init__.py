"""Merchant accounts and payouts (DOMAIN §10, §10.1): balances derived from the ledger,
withdrawals reviewed and paid out through a payout channel, adjustments (补差), the merchant
console's figures and score. docs/payouts.md describes the design."""
