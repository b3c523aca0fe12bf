"""Failure codes of the cart (docs/API.md "Error codes: Cart"). The item codes are the
checkout's words (app/checkout/errors.py): one word per failure."""

from enum import StrEnum


class CartError(StrEnum):
    INVALID_DEVICE_TOKEN = "INVALID_DEVICE_TOKEN"  # X-Device-Token not 16-64 of A-Z a-z 0-9 _ -
    INVALID_QUANTITY = "INVALID_QUANTITY"          # a line quantity outside 1..999
    NOT_AVAILABLE = "NOT_AVAILABLE"                # the product is off sale or the SKU disabled
    OUT_OF_STOCK = "OUT_OF_STOCK"                  # nothing of the SKU is available
    CART_FULL = "CART_FULL"                        # the cart holds 200 lines already


class CartWarningCode(StrEnum):
    """Why a change was made, but adjusted (a `CartWarning`, not a failure)."""
    PURCHASE_LIMIT = "PURCHASE_LIMIT"          # capped at the SKU's purchase limit
    INSUFFICIENT_STOCK = "INSUFFICIENT_STOCK"  # capped at the stock available now
    MAX_QUANTITY = "MAX_QUANTITY"              # capped at 999 per line
    CART_FULL = "CART_FULL"                    # a merged line was dropped: the cart holds 200 lines
