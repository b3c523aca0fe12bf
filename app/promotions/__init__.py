"""Promotions, coupons and freight templates (DOMAIN §4.1): their management, claims and wallet,
and the inputs the trial-pricing engine reads."""
