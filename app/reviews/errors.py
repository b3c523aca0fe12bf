"""The reviews domain's failure codes (docs/reviews.md); attaching images reports UploadError
codes and the common ones (NOT_FOUND, TOO_MANY, INVALID_VALUE)."""

from enum import StrEnum


class ReviewError(StrEnum):
    NOT_RECEIVED = "NOT_RECEIVED"                # the order is not received (or completed) yet, or was closed
    NOT_REVIEWABLE = "NOT_REVIEWABLE"            # a gift line (zero price, given by a promotion) has no review
    REFUNDED = "REFUNDED"                        # every unit of the line was refunded through after-sales
    ALREADY_REVIEWED = "ALREADY_REVIEWED"        # this order line has its review
    INVALID_RATING = "INVALID_RATING"            # rating is a whole number 1 to 5
    TEXT_TOO_LONG = "TEXT_TOO_LONG"              # review or reply text over 500 characters
    ALREADY_REPLIED = "ALREADY_REPLIED"          # the merchant has replied to this review
