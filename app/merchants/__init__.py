"""Merchants (DOMAIN §10): the shops, their status, and what other domains ask about them."""
