"""The catalog's read types: `Product` and `Sku`, used by every catalog query and payload.

Built straight from asyncpg rows by `from_row`; scalar fields are plain attributes (enum
fields hold the raw column string, which graphql-core serialises by value), and relations are
sync resolvers returning a DataLoader future, so a page of products costs one statement per
relation and no coroutine per field (../shared/STACK.md §4).
"""

import asyncio
from datetime import datetime
from enum import Enum
from typing import TypeAlias

import strawberry

from app.catalog.lifecycle import ProductStatus as _ProductStatus
from app.catalog.reads import ProductPage
from app.ids import encode_id
from schema.catalog.setup_types import AttributeKind, BackendCategory, Brand, FrontendCategory, StockLevel
from schema.context import Info
from schema.pagination import Connection, Edge, page_info
from schema.scalars import Money

LOW_STOCK_THRESHOLD = 5

strawberry.enum(_ProductStatus, name="ProductStatus")
ProductStatus: TypeAlias = _ProductStatus  # the catalog's enum is the GraphQL enum


@strawberry.enum
class FulfillmentType(Enum):
    WAREHOUSE = "WAREHOUSE"
    DROPSHIP = "DROPSHIP"
    MERCHANT = "MERCHANT"
    VIRTUAL = "VIRTUAL"


@strawberry.enum(description="What a virtual SKU tops up: a phone number or an email address.")
class RechargeAccountKind(Enum):
    PHONE = "PHONE"
    EMAIL = "EMAIL"


@strawberry.enum
class SkuStatus(Enum):
    ACTIVE = "ACTIVE"
    DISABLED = "DISABLED"


@strawberry.enum(description=f"LOW_STOCK: {LOW_STOCK_THRESHOLD} or fewer units available.")
class StockState(Enum):
    IN_STOCK = "IN_STOCK"
    LOW_STOCK = "LOW_STOCK"
    OUT_OF_STOCK = "OUT_OF_STOCK"


def stock_state(available: int) -> StockState:
    if available <= 0:
        return StockState.OUT_OF_STOCK
    return StockState.LOW_STOCK if available <= LOW_STOCK_THRESHOLD else StockState.IN_STOCK


def ready(future: asyncio.Future):
    """A loaded value as it is (graphql-core then completes it synchronously), else the future."""
    return future.result() if future.done() and not future.cancelled() and future.exception() is None else future


def then(future: asyncio.Future, fn):
    """`fn(result)`, now if the DataLoader already has it, else as a future: shapes a loaded
    value in a sync resolver without a coroutine."""
    if future.done() and not future.cancelled() and future.exception() is None:
        return fn(future.result())
    out = future.get_loop().create_future()

    def done(f: asyncio.Future) -> None:
        if f.cancelled():
            out.cancel()
        elif (error := f.exception()) is not None:
            out.set_exception(error)
        else:
            out.set_result(fn(f.result()))
    future.add_done_callback(done)
    return out


def _manages(info: Info, merchant_pk: int) -> bool:
    principal = info.context.principal
    return principal is not None and principal.can_manage_merchant(merchant_pk)


@strawberry.type(description="An image of a product; lower sort first, the first is the main image.")
class ProductImage:
    url: str
    sort: int

    @classmethod
    def from_row(cls, r) -> "ProductImage":
        return cls(url=r["url"], sort=r["sort"])


@strawberry.type(description="A KEY or NORMAL attribute value of a product (enumerated or free text).")
class ProductAttributeValue:
    attribute_id: strawberry.ID
    name: str
    kind: AttributeKind
    value_id: strawberry.ID | None
    value: str

    @classmethod
    def from_row(cls, r) -> "ProductAttributeValue":
        vid = r["value_id"]
        return cls(attribute_id=strawberry.ID(encode_id("Attribute", r["attribute_id"])), name=r["name"],
                   kind=r["kind"], value_id=None if vid is None else strawberry.ID(encode_id("AttributeValue", vid)),
                   value=r["value"])


@strawberry.type(description="A sales-attribute value the product offers, e.g. a colour with its own image.")
class SalesValue:
    id: strawberry.ID
    value: str
    image_url: str | None


@strawberry.type(description="A sales attribute (e.g. colour) with the values this product offers, in order.")
class SalesAttribute:
    pk: strawberry.Private[int]
    attribute_id: strawberry.ID
    name: str
    values: list[SalesValue]

    @classmethod
    def from_rows(cls, rows) -> list["SalesAttribute"]:
        out: list[SalesAttribute] = []
        current = None
        for r in rows:
            if current is None or current.pk != r["attribute_id"]:
                pk = r["attribute_id"]
                current = cls(pk=pk, attribute_id=strawberry.ID(encode_id("Attribute", pk)),
                              name=r["attribute_name"], values=[])
                out.append(current)
            current.values.append(SalesValue(id=strawberry.ID(encode_id("AttributeValue", r["value_id"])),
                                             value=r["value"], image_url=r["image_url"]))
        return out


@strawberry.type(description="One combination of sales-attribute values; prices in cents.")
class Sku:
    pk: strawberry.Private[int]
    merchant_pk: strawberry.Private[int]
    spec_value_pks: strawberry.Private[list[int]]
    id: strawberry.ID
    code: str
    spec_label: str
    price: Money
    list_price: Money | None
    member_price: Money | None
    member_level: int | None
    weight_grams: int
    image_url: str | None
    purchase_limit: int | None
    status: SkuStatus
    available: int = strawberry.field(description="On hand minus reserved over the merchant's active warehouses.")
    recharge_account_kind: RechargeAccountKind | None = strawberry.field(
        description="Virtual goods: the kind of account placement asks for (rechargeAccount); null for physical goods.")
    stock_state: StockState

    @classmethod
    def from_row(cls, r) -> "Sku":
        available = r["available"]
        return cls(pk=r["id"], merchant_pk=r["merchant_id"], spec_value_pks=r["spec_value_ids"],
                   id=strawberry.ID(encode_id("Sku", r["id"])), code=r["code"], spec_label=r["spec_label"],
                   price=r["price"], list_price=r["list_price"], member_price=r["member_price"],
                   member_level=r["member_level"], weight_grams=r["weight_grams"], image_url=r["image_url"],
                   purchase_limit=r["purchase_limit"], status=r["status"], available=available,
                   stock_state=stock_state(available),
                   recharge_account_kind=RechargeAccountKind(r["recharge_account_kind"])
                   if r["recharge_account_kind"] else None)

    @strawberry.field(description="Its sales-attribute values, ascending by id.")
    def spec_value_ids(self) -> list[strawberry.ID]:
        return [strawberry.ID(encode_id("AttributeValue", pk)) for pk in self.spec_value_pks]

    @strawberry.field(description="Stock per warehouse; null unless the caller manages the SKU's merchant.")
    def stock(self, info: Info) -> list[StockLevel] | None:
        if not _manages(info, self.merchant_pk):
            return None
        return ready(info.context.loaders.sku_stock.load(self.pk))


class ProductSkus:
    """A product's SKUs as loaded once: all (for its managers), active (for buyers), stock state."""

    __slots__ = ("all", "active", "stock_state")

    def __init__(self, rows) -> None:
        self.all = [Sku.from_row(r) for r in rows]
        self.active = [s for s in self.all if s.status == "ACTIVE"]
        self.stock_state = stock_state(sum(s.available for s in self.active))


@strawberry.type(description="A product (SPU). Prices in cents; min/max over its active SKUs.")
class Product:
    pk: strawberry.Private[int]
    merchant_pk: strawberry.Private[int]
    brand_pk: strawberry.Private[int | None]
    category_pk: strawberry.Private[int]
    id: strawberry.ID
    title: str
    subtitle: str
    description: str
    status: ProductStatus
    fulfillment_type: FulfillmentType
    merchant_id: strawberry.ID
    min_price: Money | None
    max_price: Money | None
    sales_count: int
    listed_at: datetime | None
    created_at: datetime
    reject_reason: str | None
    scheduled_listing_at: datetime | None = strawberry.field(
        description="When an approved product goes on sale by itself (staff set it).")
    rating_average: float | None = strawberry.field(description="1–5, two decimals; null before any review.")
    rating_count: int
    shop_open: strawberry.Private[bool] = True    # a suspended or closed shop's products are hidden from buyers

    @classmethod
    def from_row(cls, r) -> "Product":
        rating_count = r["rating_count"]
        return cls(pk=r["id"], merchant_pk=r["merchant_id"], brand_pk=r["brand_id"], category_pk=r["category_id"],
                   id=strawberry.ID(encode_id("Product", r["id"])), title=r["title"], subtitle=r["subtitle"],
                   description=r["description"], status=r["status"], fulfillment_type=r["fulfillment_type"],
                   merchant_id=strawberry.ID(encode_id("Merchant", r["merchant_id"])),
                   min_price=r["min_price"], max_price=r["max_price"], sales_count=r["sales_count"],
                   listed_at=r["listed_at"], created_at=r["created_at"], reject_reason=r["reject_reason"],
                   scheduled_listing_at=r["scheduled_listing_at"],
                   rating_average=round(r["rating_sum"] / rating_count, 2) if rating_count else None,
                   rating_count=rating_count, shop_open=r.get("shop_open", True) is not False)

    @staticmethod
    async def prefetch(info: Info, products: list["Product"], field_names: set[str]) -> None:
        """Load the selected relations of a whole page before its fields resolve (one batch
        per relation, as the DataLoaders would): every relation field then completes
        synchronously instead of as one awaitable per product."""
        loaders = info.context.loaders
        wanted = {loader: key for name, (loader, key) in _RELATIONS.items() if name in field_names}
        await asyncio.gather(*(loaders.prime([key(p) for p in products], loader)
                               for loader, key in wanted.items()))

    @strawberry.field
    def brand(self, info: Info) -> Brand | None:
        return None if self.brand_pk is None else ready(info.context.loaders.product_brand.load(self.brand_pk))

    @strawberry.field(description="The leaf of the backend category tree the product is bound to.")
    def backend_category(self, info: Info) -> BackendCategory:
        return ready(info.context.loaders.product_category.load(self.category_pk))

    @strawberry.field(description="Display categories mapped to its backend category.")
    def frontend_categories(self, info: Info) -> list[FrontendCategory]:
        return ready(info.context.loaders.frontend_categories_of_backend_category.load(self.category_pk))

    @strawberry.field
    def images(self, info: Info) -> list[ProductImage]:
        return ready(info.context.loaders.product_images.load(self.pk))

    @strawberry.field(description="KEY and NORMAL attribute values.")
    def attributes(self, info: Info) -> list[ProductAttributeValue]:
        return ready(info.context.loaders.product_attributes.load(self.pk))

    @strawberry.field(description="Sales attributes with the values offered; their combinations are the SKUs.")
    def sales_attributes(self, info: Info) -> list[SalesAttribute]:
        return ready(info.context.loaders.product_sales_attributes.load(self.pk))

    @strawberry.field(description="Active SKUs; the owner's staff and admins also see disabled ones.")
    def skus(self, info: Info) -> list[Sku]:
        manages = _manages(info, self.merchant_pk)
        return then(info.context.loaders.product_skus.load(self.pk),
                    lambda skus: skus.all if manages else skus.active)

    @strawberry.field(description="From the total available over its active SKUs.")
    def stock_state(self, info: Info) -> StockState:
        return then(info.context.loaders.product_skus.load(self.pk), _stock_state_of)


def _stock_state_of(skus: ProductSkus) -> StockState:
    return skus.stock_state


# GraphQL field of Product → (its loader, the key it loads by)
_RELATIONS = {
    "brand": ("product_brand", lambda p: p.brand_pk),
    "backendCategory": ("product_category", lambda p: p.category_pk),
    "frontendCategories": ("frontend_categories_of_backend_category", lambda p: p.category_pk),
    "images": ("product_images", lambda p: p.pk),
    "attributes": ("product_attributes", lambda p: p.pk),
    "salesAttributes": ("product_sales_attributes", lambda p: p.pk),
    "skus": ("product_skus", lambda p: p.pk),
    "stockState": ("product_skus", lambda p: p.pk),
}


def product_connection(cls: type[Connection[Product]], page: ProductPage, after: str | None, **extra):
    """A `Connection[Product]` subclass of a page the catalog cut with its own opaque sort-key
    cursors (app/catalog/reads.py)."""
    return cls(edges=[Edge(node=Product.from_row(r), cursor=c) for r, c in zip(page.rows, page.cursors)],
               page_info=page_info(page.cursors, page.has_next_page, after), **extra)
