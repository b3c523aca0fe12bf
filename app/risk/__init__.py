"""Risk (DOMAIN §11): blacklists, placement velocity and payment authentication levels. Every
decision is written to `risk_decisions` with the rule that fired, in its own transaction, so a
refusal is on record even though the refused action writes nothing."""
