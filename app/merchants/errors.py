"""Failure codes of shops (app/merchants/shops.py), passed on by the domains that check a shop:
the catalog, promotions."""

from enum import StrEnum


class ShopError(StrEnum):
    MERCHANT_NOT_OPEN = "MERCHANT_NOT_OPEN"          # the shop is suspended or closed
    CATEGORY_NOT_ALLOWED = "CATEGORY_NOT_ALLOWED"    # the shop may not sell in this category
