"""The payments domain's own failure codes (cashier, refunds, the review of flagged provider
notifications); the shared ones are `CommonError`. docs/API.md lists them."""

from enum import StrEnum


class PaymentError(StrEnum):
    CHANNEL_NOT_AVAILABLE = "CHANNEL_NOT_AVAILABLE"            # no provider takes this channel (CREDIT for now)
    CHANNEL_MISMATCH = "CHANNEL_MISMATCH"                      # priced with another channel's payment discount
    PAYMENT_ORDER_NOT_PAYABLE = "PAYMENT_ORDER_NOT_PAYABLE"    # paid or cancelled already
    PAYMENT_ORDER_EXPIRED = "PAYMENT_ORDER_EXPIRED"            # the time to pay is over
    NOTHING_TO_PAY = "NOTHING_TO_PAY"                          # a payable of 0 was paid at placement
    PROVIDER_UNAVAILABLE = "PROVIDER_UNAVAILABLE"              # the provider did not answer; try again
    IDEMPOTENCY_KEY_REUSED = "IDEMPOTENCY_KEY_REUSED"          # the refund key was used for another refund
    NOT_REFUNDABLE = "NOT_REFUNDABLE"                          # only a succeeded payment is refunded
    INVALID_AMOUNT = "INVALID_AMOUNT"                          # a refund is a positive number of cents
    REFUND_EXCEEDS_PAYMENT = "REFUND_EXCEEDS_PAYMENT"          # more than is left to refund of the payment
    NOTE_REQUIRED = "NOTE_REQUIRED"                            # a review says why, in 1 to 500 characters
    NOT_APPLICABLE = "NOT_APPLICABLE"                          # this resolution is not safe for this notification
