"""Trial pricing (DOMAIN §4): a pure function from a `PricingRequest` to a `PricingResult`.

Credit installment plans (§8) are priced by the credit domain on `PricingResult.payable`;
nothing here knows about them.
"""

from app.pricing.apportion import refund_amount, unit_amounts
from app.pricing.engine import price

__all__ = ["price", "refund_amount", "unit_amounts"]
