"""The catalog's own failure codes (the shared ones are `CommonError`); docs/API.md explains each."""

from enum import StrEnum


class CatalogError(StrEnum):
    # names and texts
    DUPLICATE_NAME = "DUPLICATE_NAME"                # another row of the same parent/merchant has it
    INVALID_NAME = "INVALID_NAME"                    # empty or too long
    INVALID_TEXT = "INVALID_TEXT"                    # contains NUL (U+0000), which PostgreSQL cannot store
    INVALID_URL = "INVALID_URL"                      # not an http(s) URL
    # category trees and templates
    DEPTH_LIMIT = "DEPTH_LIMIT"                      # the tree would get deeper than allowed
    HAS_CHILDREN = "HAS_CHILDREN"                    # a category with children cannot be removed
    CATEGORY_HAS_PRODUCTS = "CATEGORY_HAS_PRODUCTS"  # products are bound to it
    NOT_LEAF_CATEGORY = "NOT_LEAF_CATEGORY"          # products (and display mappings) bind to leaves
    INVALID_RATE = "INVALID_RATE"                    # a commission rate outside 0..1
    DUPLICATE_ATTRIBUTE = "DUPLICATE_ATTRIBUTE"      # an attribute given twice, or already in the template
    DUPLICATE_VALUE = "DUPLICATE_VALUE"              # an attribute value given twice or already there
    NOT_IN_TEMPLATE = "NOT_IN_TEMPLATE"              # not an attribute of the category's template
    # brands
    BRAND_NOT_ACTIVE = "BRAND_NOT_ACTIVE"
    BRAND_NOT_IN_CATEGORY = "BRAND_NOT_IN_CATEGORY"
    # shops (their own failures are app/merchants/errors.py `ShopError`)
    MERCHANT_REQUIRED = "MERCHANT_REQUIRED"          # an admin must say which merchant a product is for
    # products and SKUs
    NO_IMAGE = "NO_IMAGE"
    NO_SKU = "NO_SKU"
    MISSING_ATTRIBUTE = "MISSING_ATTRIBUTE"          # a required template attribute has no value
    REASON_REQUIRED = "REASON_REQUIRED"              # a rejection needs a reason
    INVALID_TIME = "INVALID_TIME"                    # a time without a time zone
    INVALID_PRICE = "INVALID_PRICE"
    INVALID_MEMBER_PRICE = "INVALID_MEMBER_PRICE"
    INVALID_SKU_CODE = "INVALID_SKU_CODE"
    INVALID_WEIGHT = "INVALID_WEIGHT"
    INVALID_PURCHASE_LIMIT = "INVALID_PURCHASE_LIMIT"
    DUPLICATE_SKU_CODE = "DUPLICATE_SKU_CODE"
    DUPLICATE_COMBINATION = "DUPLICATE_COMBINATION"  # two SKUs with the same sales values
    UNKNOWN_COMBINATION = "UNKNOWN_COMBINATION"      # a SKU's values are not a cell of the grid
    MISSING_SKU = "MISSING_SKU"                      # a cell of the grid has no SKU
    # warehouses and stock
    UNKNOWN_REGION = "UNKNOWN_REGION"
    DUPLICATE_REGION = "DUPLICATE_REGION"
    INVALID_PRIORITY = "INVALID_PRIORITY"
    INVALID_QUANTITY = "INVALID_QUANTITY"            # negative, zero where a change is needed, or too large
    STOCK_BELOW_RESERVED = "STOCK_BELOW_RESERVED"    # on hand would fall under what orders reserved
    WAREHOUSE_NOT_OURS = "WAREHOUSE_NOT_OURS"        # the warehouse is not the SKU's merchant's
    WAREHOUSE_KIND_MISMATCH = "WAREHOUSE_KIND_MISMATCH"  # a DROPSHIP SKU outside a supplier's warehouse, or vice versa
    SUPPLIER_WAREHOUSE = "SUPPLIER_WAREHOUSE"        # a supplier's warehouse changes with its supplier only
