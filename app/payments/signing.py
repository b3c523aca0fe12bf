"""Moved to app/signing.py: every partner signs with us (payment providers, fulfilment partners,
top-up suppliers, the SMS gateway), not only payment providers. Only app/sandbox/partners.py,
app/fulfilment/partners.py, app/fulfilment/webhooks.py and bench/fulfilment_pushes.py still
import it from here; once they import app.signing this module goes."""

from app.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign, signed_headers, verify

__all__ = ["SIGNATURE_HEADER", "TIMESTAMP_HEADER", "sign", "signed_headers", "verify"]
