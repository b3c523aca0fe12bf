"""Failure codes of sign-up and sign-in (docs/API.md "Error codes: Auth")."""

from enum import StrEnum


class AuthError(StrEnum):
    INVALID_PHONE = "INVALID_PHONE"                  # a phone is 6 to 20 digits
    INVALID_USERNAME = "INVALID_USERNAME"            # a username is 3-64 of a-z 0-9 _ . @ -
    WEAK_PASSWORD = "WEAK_PASSWORD"                  # the password policy refused it (docs/API.md)
    PHONE_TAKEN = "PHONE_TAKEN"                      # the phone is registered already
    INVALID_CREDENTIALS = "INVALID_CREDENTIALS"      # wrong login or password (never says which)
    ACCOUNT_BLOCKED = "ACCOUNT_BLOCKED"              # blacklisted buyer, closed merchant, disabled account
    INVALID_REFRESH_TOKEN = "INVALID_REFRESH_TOKEN"  # unknown, expired, used or revoked refresh token
    TOO_MANY_ATTEMPTS = "TOO_MANY_ATTEMPTS"          # a rate limit: retry later
