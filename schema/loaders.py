"""DataLoaders, created per request (per websocket for subscriptions, then without cache).

Each loader runs one `= ANY($1)` statement per batch, so a page costs a constant number of
statements whatever its size. Batch functions live in the domain packages (`app/<domain>/`);
this module only wires them to DataLoaders. A loader given `build` hands out GraphQL objects
made once per key, so sync resolvers can return its future as it is.
"""

from collections.abc import Awaitable, Callable, Sequence
from functools import cached_property
from typing import Any

from strawberry.dataloader import DataLoader

from app.aftersale import reads as aftersale_reads
from app.catalog import categories, reads, warehouses
from app.catalog.brands import brand_category_ids_by_ids
from app.db import Database
from app.fulfilment import shipments
from app.orders import reads as order_reads
from app.supply import purchasing, suppliers
from schema.catalog.setup_types import (
    Attribute,
    AttributeValue,
    BackendCategory,
    Brand,
    FrontendCategory,
    StockLevel,
    Warehouse,
    gid,
)
from schema.catalog.types import Product, ProductAttributeValue, ProductImage, ProductSkus, SalesAttribute


def _each(from_row: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """Build one object from a row, None stays None."""
    return lambda row: None if row is None else from_row(row)


def _each_of_list(from_row: Callable[[Any], Any]) -> Callable[[list], list]:
    return lambda rows: [from_row(r) for r in rows]


class Loaders:
    def __init__(self, db: Database, cache: bool = True) -> None:
        self._db = db
        self._cache = cache

    def _loader(self, batch: Callable[[Database, Sequence[Any]], Awaitable[list[Any]]],
                build: Callable[[Any], Any] | None = None) -> DataLoader:
        async def load(keys: list[Any]) -> list[Any]:
            results = await batch(self._db, keys)
            return results if build is None else [build(r) for r in results]
        return DataLoader(load_fn=load, cache=self._cache)

    async def prime(self, keys: list[Any], name: str) -> None:
        """Load the keys that loader `name` does not hold yet with one call of its batch
        function and keep the results: no future, batch task and callback per key as `load`
        has. Without a cache (subscriptions) the fields load by themselves later."""
        loader: DataLoader = getattr(self, name)
        if not loader.cache:
            return
        missing = [k for k in dict.fromkeys(keys) if k is not None and loader.cache_map.get(k) is None]
        if missing:
            loader.prime_many(dict(zip(missing, await loader.load_fn(missing))))

    # -- catalog read side (schema/catalog/types.py) --------------------------------------
    @cached_property
    def product(self) -> DataLoader:
        """Product by id, None when missing; visibility is the caller's check."""
        return self._loader(reads.products_by_ids, _each(Product.from_row))

    @cached_property
    def product_skus(self) -> DataLoader:
        return self._loader(reads.skus_by_product_ids, ProductSkus)

    @cached_property
    def sku_stock(self) -> DataLoader:
        return self._loader(reads.stock_by_sku_ids, _each_of_list(StockLevel.from_row))

    @cached_property
    def product_images(self) -> DataLoader:
        return self._loader(reads.images_by_product_ids, _each_of_list(ProductImage.from_row))

    @cached_property
    def product_attributes(self) -> DataLoader:
        return self._loader(reads.attribute_values_by_product_ids, _each_of_list(ProductAttributeValue.from_row))

    @cached_property
    def product_sales_attributes(self) -> DataLoader:
        return self._loader(reads.sales_values_by_product_ids, SalesAttribute.from_rows)

    @cached_property
    def product_brand(self) -> DataLoader:
        return self._loader(reads.brands_by_ids, _each(Brand.from_row))

    @cached_property
    def product_category(self) -> DataLoader:
        return self._loader(reads.backend_categories_by_ids, _each(BackendCategory.from_row))

    @cached_property
    def frontend_categories_of_backend_category(self) -> DataLoader:
        return self._loader(reads.frontend_categories_by_backend_ids, _each_of_list(FrontendCategory.from_row))

    # -- catalog setup (schema/catalog/setup_types.py) ------------------------------------
    @cached_property
    def backend_category_children(self) -> DataLoader:
        return self._loader(categories.backend_category_children_by_ids, _each_of_list(BackendCategory.from_row))

    @cached_property
    def backend_category_path(self) -> DataLoader:
        return self._loader(categories.backend_category_paths_by_ids, _each_of_list(BackendCategory.from_row))

    @cached_property
    def category_template_attributes(self) -> DataLoader:
        return self._loader(categories.template_attributes_by_category_ids, _each_of_list(Attribute.from_row))

    @cached_property
    def attribute_values(self) -> DataLoader:
        return self._loader(categories.attribute_values_by_attribute_ids, _each_of_list(AttributeValue.from_row))

    @cached_property
    def frontend_category_children(self) -> DataLoader:
        return self._loader(categories.frontend_category_children_by_ids, _each_of_list(FrontendCategory.from_row))

    @cached_property
    def frontend_category_backend_ids(self) -> DataLoader:
        return self._loader(categories.frontend_backend_ids_by_ids,
                            _each_of_list(lambda pk: gid("BackendCategory", pk)))

    @cached_property
    def brand_category_ids(self) -> DataLoader:
        return self._loader(brand_category_ids_by_ids, _each_of_list(lambda pk: gid("BackendCategory", pk)))

    @cached_property
    def warehouse(self) -> DataLoader:
        return self._loader(warehouses.warehouses_by_ids, _each(Warehouse.from_row))

    @cached_property
    def warehouse_region_codes(self) -> DataLoader:
        return self._loader(warehouses.warehouse_region_codes_by_ids)

    # -- orders (schema/orders.py): rows; the resolvers shape them ----------------------
    @cached_property
    def order_lines(self) -> DataLoader:
        return self._loader(order_reads.lines_by_order_ids)

    @cached_property
    def order_line_shares(self) -> DataLoader:
        return self._loader(order_reads.shares_by_line_ids)

    @cached_property
    def order_history(self) -> DataLoader:
        return self._loader(order_reads.history_by_order_ids)

    @cached_property
    def checkout_payments(self) -> DataLoader:
        """Payments by payment order id."""
        return self._loader(order_reads.payments_by_payment_order_ids)

    @cached_property
    def order_refunds(self) -> DataLoader:
        return self._loader(order_reads.refunds_by_order_ids)

    @cached_property
    def order_shipments(self) -> DataLoader:
        return self._loader(shipments.shipments_by_order_ids)

    @cached_property
    def shipment_lines(self) -> DataLoader:
        return self._loader(shipments.lines_by_shipment_ids)

    @cached_property
    def shipment_tracking(self) -> DataLoader:
        return self._loader(shipments.tracking_by_shipment_ids)

    # -- after-sale (schema/aftersale.py): rows -----------------------------------------
    @cached_property
    def after_sale_lines(self) -> DataLoader:
        return self._loader(aftersale_reads.lines_by_case_ids)

    @cached_property
    def after_sale_evidence(self) -> DataLoader:
        return self._loader(aftersale_reads.evidence_by_case_ids)

    @cached_property
    def after_sale_history(self) -> DataLoader:
        return self._loader(aftersale_reads.history_by_case_ids)

    @cached_property
    def order_after_sales(self) -> DataLoader:
        return self._loader(aftersale_reads.cases_by_order_ids)

    # -- supply (schema/supply.py): rows; the resolvers shape them ----------------------
    @cached_property
    def supplier(self) -> DataLoader:
        return self._loader(suppliers.suppliers_by_ids)

    @cached_property
    def supplier_history(self) -> DataLoader:
        return self._loader(suppliers.status_history_by_supplier_ids)

    @cached_property
    def supplier_warehouse(self) -> DataLoader:
        return self._loader(warehouses.supplier_warehouses_by_supplier_ids, _each(Warehouse.from_row))

    @cached_property
    def purchase_order_lines(self) -> DataLoader:
        return self._loader(purchasing.lines_by_po_ids)

    @cached_property
    def purchase_order_receipts(self) -> DataLoader:
        return self._loader(purchasing.receipts_by_po_ids)

    @cached_property
    def inbound_receipt_lines(self) -> DataLoader:
        return self._loader(purchasing.receipt_lines_by_receipt_ids)

    @cached_property
    def purchase_order_history(self) -> DataLoader:
        return self._loader(purchasing.history_by_po_ids)
