"""The fulfilment domain's own failure codes; shared ones are `CommonError`. docs/API.md lists them."""

from enum import StrEnum


class FulfilmentError(StrEnum):
    INVALID_TRACKING = "INVALID_TRACKING"            # carrier or tracking number not 1 to 50 characters
    NOT_MERCHANT_SHIPPED = "NOT_MERCHANT_SHIPPED"    # a partner ships this parcel, not the merchant's console
    INVALID_QUANTITY = "INVALID_QUANTITY"            # more units than the line has waiting to ship
    OUT_OF_STOCK = "OUT_OF_STOCK"                    # no warehouse covering the order's region has the units
    NOT_SHIPPABLE = "NOT_SHIPPABLE"                  # virtual goods are not shipped
