"""The risk domain's own failure codes; the shared ones are `CommonError`. docs/API.md lists them."""

from enum import StrEnum


class RiskError(StrEnum):
    ORDER_REFUSED = "ORDER_REFUSED"        # a blacklist matched the placement (the buyer is never told which)
    TOO_MANY_ORDERS = "TOO_MANY_ORDERS"    # the per-buyer velocity limit; try again later
    INVALID_KIND = "INVALID_KIND"          # not a blacklist kind
    INVALID_ADDRESS = "INVALID_ADDRESS"    # an ADDRESS entry without its region code and street
    REASON_REQUIRED = "REASON_REQUIRED"    # a blacklist entry says why, in at most 200 characters
