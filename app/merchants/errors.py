"""Failure codes of the merchants domain (DOMAIN §10): shops as other domains check them (the
catalog, promotions), onboarding, the shop lifecycle, staff and commission rates."""

from enum import StrEnum


class ShopError(StrEnum):
    MERCHANT_NOT_OPEN = "MERCHANT_NOT_OPEN"          # the shop is suspended or closed
    CATEGORY_NOT_ALLOWED = "CATEGORY_NOT_ALLOWED"    # the shop may not sell in this category
    # onboarding
    APPLICATION_IN_PROGRESS = "APPLICATION_IN_PROGRESS"  # the applicant already has one under review or approved
    SHOP_NAME_TAKEN = "SHOP_NAME_TAKEN"              # another shop (or live application) has this name
    USERNAME_TAKEN = "USERNAME_TAKEN"                # the staff login name is in use
    UNKNOWN_CATEGORY = "UNKNOWN_CATEGORY"            # a category to sell in does not exist
    REASON_REQUIRED = "REASON_REQUIRED"              # a rejection, suspension or closing needs a reason
    DEPOSIT_NOT_DUE = "DEPOSIT_NOT_DUE"              # only an approved application's shop pays its deposit
    # the lifecycle
    SHOP_HAS_OPEN_ORDERS = "SHOP_HAS_OPEN_ORDERS"    # closing waits until every order is finished
    SHOP_HAS_OPEN_AFTER_SALES = "SHOP_HAS_OPEN_AFTER_SALES"
    SHOP_HAS_DEBTS = "SHOP_HAS_DEBTS"                # a negative available balance is owed to the platform
    # staff
    OWNER_REQUIRED = "OWNER_REQUIRED"                # only the shop's OWNER may do this (staff changes, withdrawals)
    INVITATION_INVALID = "INVITATION_INVALID"        # unknown, expired, revoked or already used
    LAST_OWNER = "LAST_OWNER"                        # a shop keeps at least one active owner; nobody demotes themself
    # commission
    COMMISSION_DATE_IN_PAST = "COMMISSION_DATE_IN_PAST"  # rates change from today on, never retroactively
