"""What a payouts request can fail with (docs/API.md, "Error codes: Payouts")."""

from enum import StrEnum


class PayoutError(StrEnum):
    INVALID_AMOUNT = "INVALID_AMOUNT"                # an amount that is not a positive number of cents (adjustments: not 0)
    INSUFFICIENT_AVAILABLE = "INSUFFICIENT_AVAILABLE"  # more than the available balance
    INSUFFICIENT_DEPOSIT = "INSUFFICIENT_DEPOSIT"    # a deposit deduction larger than the deposit held
    AVAILABLE_NEGATIVE = "AVAILABLE_NEGATIVE"        # the available balance is negative: withdrawals are blocked
    OWNER_ONLY = "OWNER_ONLY"                        # only the merchant's OWNER may withdraw (operators may not)
    IDEMPOTENCY_CONFLICT = "IDEMPOTENCY_CONFLICT"    # a client key used before for a different request
    REASON_REQUIRED = "REASON_REQUIRED"              # a rejection or adjustment needs a reason (1 to 500 characters)
    INVALID_DATE_RANGE = "INVALID_DATE_RANGE"        # console figures: `from` after `to`, or more than 366 days
