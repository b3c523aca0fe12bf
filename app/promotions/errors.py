"""Failure codes of promotions, coupons and freight templates (docs/API.md "Error codes:
Promotions"). Order placement passes some of them on (a coupon or budget gone meanwhile), so the
orders' GraphQL enum includes this one."""

from enum import StrEnum


class PromotionError(StrEnum):
    INVALID_NAME = "INVALID_NAME"                      # a name of 1 to 100 characters
    INVALID_TIME = "INVALID_TIME"                      # a time without a time zone
    INVALID_WINDOW = "INVALID_WINDOW"                  # end not after start, or longer than a year
    INVALID_FUNDING = "INVALID_FUNDING"                # a split's platform percent outside 1..99, or one without SPLIT
    INVALID_PRIORITY = "INVALID_PRIORITY"              # priority outside 0..1000
    INVALID_AMOUNT = "INVALID_AMOUNT"                  # a money amount outside its range (cents)
    INVALID_RATE = "INVALID_RATE"                      # a rate (percent paid) outside 1..99
    INVALID_QUANTITY = "INVALID_QUANTITY"              # a count outside its range
    INVALID_RULE = "INVALID_RULE"                      # a rule whose parts do not fit together
    INVALID_CHANNEL = "INVALID_CHANNEL"                # not one of the payment channels
    INVALID_VALIDITY = "INVALID_VALIDITY"              # a coupon's validDays / validUntil
    INVALID_NOTE = "INVALID_NOTE"                      # a review note longer than 500 characters
    DUPLICATE_VALUE = "DUPLICATE_VALUE"                # a category, SKU or region given twice
    REQUIRED = "REQUIRED"                              # the kind's rule needs this field
    NOT_ALLOWED = "NOT_ALLOWED"                        # the kind takes no such field (or no scope)
    SCOPE_REQUIRED = "SCOPE_REQUIRED"                  # a shop promotion names no scope
    MERCHANT_REQUIRED = "MERCHANT_REQUIRED"            # this kind belongs to a merchant: name one
    PLATFORM_ONLY = "PLATFORM_ONLY"                    # this kind is run by the platform only
    NOTE_REQUIRED = "NOTE_REQUIRED"                    # a rejection says why
    NOT_EDITABLE = "NOT_EDITABLE"                      # only a DRAFT changes; kind and owner never
    WINDOW_OVER = "WINDOW_OVER"                        # publishing or resuming after the window
    NOT_OPEN_FOR_ENROLMENT = "NOT_OPEN_FOR_ENROLMENT"  # the platform promotion takes no enrolments now
    NOT_CLAIMABLE = "NOT_CLAIMABLE"                    # the coupon is paused or ended
    CLAIM_NOT_STARTED = "CLAIM_NOT_STARTED"            # the claim window has not opened
    CLAIM_ENDED = "CLAIM_ENDED"                        # the claim window closed, or the coupon would be born expired
    CLAIM_LIMIT_REACHED = "CLAIM_LIMIT_REACHED"        # the buyer holds the per-buyer limit already
    OUT_OF_STOCK = "OUT_OF_STOCK"                      # every coupon of the template has been claimed
    NOT_NEW_USER = "NOT_NEW_USER"                      # a NEW_USER coupon for a buyer with a completed order
    UNKNOWN_REGION = "UNKNOWN_REGION"                  # not a province code (GB/T 2260)

