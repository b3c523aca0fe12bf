"""The after-sale domain's own failure codes; shared ones are `CommonError` (NOT_FOUND,
INVALID_TRANSITION, INVALID_VALUE, TOO_MANY). docs/API.md lists them."""

from enum import StrEnum


class AfterSaleError(StrEnum):
    VIRTUAL_NO_AFTERSALE = "VIRTUAL_NO_AFTERSALE"        # virtual goods have no after-sale (DOMAIN §0, §9)
    ORDER_NOT_ELIGIBLE = "ORDER_NOT_ELIGIBLE"            # unpaid, cancelled or closed, or the type needs the goods received
    WINDOW_CLOSED = "WINDOW_CLOSED"                      # more than the after-sale window since receipt
    LINE_HAS_OPEN_AFTERSALE = "LINE_HAS_OPEN_AFTERSALE"  # one open after-sale per order line at a time
    NOT_ENOUGH_UNITS = "NOT_ENOUGH_UNITS"                # more units than the line has left to claim
    REASON_REQUIRED = "REASON_REQUIRED"                  # a rejection (or free-text OTHER reason) needs words
    REFUND_IN_PROGRESS = "REFUND_IN_PROGRESS"            # the order's whole-order cancellation is being refunded
