"""Supply's own failure codes (the shared ones are `CommonError`); docs/API.md explains each."""

from enum import StrEnum


class SupplyError(StrEnum):
    # suppliers
    DUPLICATE_SUPPLIER_NAME = "DUPLICATE_SUPPLIER_NAME"  # another supplier has this name (case aside)
    INVALID_ENDPOINT = "INVALID_ENDPOINT"        # not http(s)://… or sandbox://<service>/<code> of the kind's service
    ENDPOINT_REQUIRED = "ENDPOINT_REQUIRED"      # DROPSHIP / REALTIME_API need an endpoint and a secret
    ENDPOINT_NOT_ALLOWED = "ENDPOINT_NOT_ALLOWED"  # a STOCK supplier has no partner system
    WEAK_SECRET = "WEAK_SECRET"                  # a partner secret of fewer than 16 characters
    REGIONS_REQUIRED = "REGIONS_REQUIRED"        # a DROPSHIP supplier ships to at least one region
    SUPPLIER_SUSPENDED = "SUPPLIER_SUSPENDED"    # a suspended supplier takes no new purchase orders
    WRONG_SUPPLIER_KIND = "WRONG_SUPPLIER_KIND"  # e.g. a purchase order to a DROPSHIP supplier
    # contracts
    NOT_PLATFORM_SKU = "NOT_PLATFORM_SKU"        # suppliers sell to the platform: SKUs of merchant #1 only
    FULFILMENT_MISMATCH = "FULFILMENT_MISMATCH"  # the SKU's fulfilment type does not fit the supplier's kind
    NOT_CONTRACTED = "NOT_CONTRACTED"            # the SKU has no contract line with this supplier
    # purchase orders and receipts
    NOT_PLATFORM_WAREHOUSE = "NOT_PLATFORM_WAREHOUSE"  # receive into the platform's own warehouses only
    DUPLICATE_LINE = "DUPLICATE_LINE"            # a SKU given twice in one purchase order or receipt
    OVER_RECEIVED = "OVER_RECEIVED"              # more than ordered minus already received
