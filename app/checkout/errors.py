"""Failure codes of checkout lines and the trial pricing (docs/API.md "Error codes: Checkout").
Order placement checks the same lines, so the orders' GraphQL enum includes this one."""

from enum import StrEnum


class CheckoutError(StrEnum):
    NO_LINES = "NO_LINES"                                  # nothing to buy (no line, or no selected cart line)
    INVALID_QUANTITY = "INVALID_QUANTITY"                  # a line quantity outside 1..9999
    DUPLICATE_VALUE = "DUPLICATE_VALUE"                    # a SKU on two lines
    NOT_AVAILABLE = "NOT_AVAILABLE"                        # the product is off sale or the SKU disabled
    OUT_OF_STOCK = "OUT_OF_STOCK"                          # not that many left where the address is served
    ADDRESS_NOT_DELIVERABLE = "ADDRESS_NOT_DELIVERABLE"    # no warehouse of the merchant serves the address
    INVALID_CHANNEL = "INVALID_CHANNEL"                    # not one of the payment channels
