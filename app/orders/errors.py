"""The orders domain's own failure codes (placement, status changes, the buyer's cancellations);
the shared ones are `CommonError` (NOT_FOUND, INVALID_TRANSITION, …); placement reports the
checkout's own words for its lines (`CheckoutError.NO_LINES`, `OUT_OF_STOCK`). docs/API.md lists them."""

from enum import StrEnum


class OrderError(StrEnum):
    PRICE_CHANGED = "PRICE_CHANGED"                          # the payable is not what the client was shown
    INVALID_IDEMPOTENCY_KEY = "INVALID_IDEMPOTENCY_KEY"      # not 8 to 64 characters of A-Z a-z 0-9 _ -
    IDEMPOTENCY_KEY_REUSED = "IDEMPOTENCY_KEY_REUSED"        # the key placed (or refunded) something else
    INVALID_ADDRESS = "INVALID_ADDRESS"                      # receiver, phone, street or region not valid
    ADDRESS_REQUIRED = "ADDRESS_REQUIRED"                    # physical goods need a delivery address
    INVALID_RECHARGE_ACCOUNT = "INVALID_RECHARGE_ACCOUNT"    # not an account of the kind the SKUs top up
    RECHARGE_ACCOUNT_REQUIRED = "RECHARGE_ACCOUNT_REQUIRED"  # virtual goods need the account to top up
    MIXED_RECHARGE_ACCOUNT_KINDS = "MIXED_RECHARGE_ACCOUNT_KINDS"  # phone and email top-ups in one checkout
    MIXED_VIRTUAL_AND_PHYSICAL = "MIXED_VIRTUAL_AND_PHYSICAL"      # top-ups are checked out on their own
    GIFT_OUT_OF_STOCK = "GIFT_OUT_OF_STOCK"                  # a gift ran out meanwhile; submit again
    INVALID_TRACKING = "INVALID_TRACKING"                    # carrier or tracking number not 1 to 50 characters
    AFTERSALE_IN_PROGRESS = "AFTERSALE_IN_PROGRESS"          # the order already has an after-sale (a refund) open
    VIRTUAL_NO_AFTERSALE = "VIRTUAL_NO_AFTERSALE"            # virtual goods have no after-sale (DOMAIN §0, §9)
