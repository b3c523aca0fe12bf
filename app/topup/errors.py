"""Why a top-up was not delivered (stored as the purchase's `last_error`, sent in TOPUP_FAILED
events and the buyer's notice); docs/topup.md explains each."""

from enum import StrEnum


class TopupError(StrEnum):
    NO_SUPPLIER = "NO_SUPPLIER"                  # no active REALTIME_API contract covers every SKU of the order
    SUPPLIER_REFUSED = "SUPPLIER_REFUSED"        # the supplier answered that it did not recharge (definite)
    DEADLINE_PASSED = "DEADLINE_PASSED"          # no success within TOPUP_DEADLINE_SECONDS of payment
    SUPPLIER_UNREACHABLE = "SUPPLIER_UNREACHABLE"  # timeout, 5xx or connection error: outcome unknown, re-queried
