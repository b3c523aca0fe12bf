"""The double-entry ledger (DOMAIN §10, §10.1): every money movement as an immutable, balanced journal entry."""
