"""The buyer account domain's failure codes (address book, SMS codes, deletion); the shared ones
are `CommonError` (NOT_FOUND, TOO_MANY…). docs/API.md lists them."""

from enum import StrEnum


class AccountError(StrEnum):
    INVALID_ADDRESS = "INVALID_ADDRESS"              # receiver, phone, street, label or region not valid
    UNKNOWN_REGION = "UNKNOWN_REGION"                # the region code's province is not a known region
    TOO_MANY_ADDRESSES = "TOO_MANY_ADDRESSES"        # the address book is full (MAX_ADDRESSES)
    SMS_CODE_REQUIRED = "SMS_CODE_REQUIRED"          # registration needs the code sent by sendSmsCode
    INVALID_SMS_CODE = "INVALID_SMS_CODE"            # wrong, expired or used up code (never says which)
    SMS_TOO_SOON = "SMS_TOO_SOON"                    # a code was sent to this phone a moment ago
    SMS_NOT_SENT = "SMS_NOT_SENT"                    # the SMS gateway did not take the message; retry later
    OPEN_ORDERS = "OPEN_ORDERS"                      # deletion refused: an order or after-sale is still open
    WRONG_PASSWORD = "WRONG_PASSWORD"                # deletion needs the account's password
