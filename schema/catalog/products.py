"""GraphQL for writing products: create/update with the SKU grid, prices, the review lifecycle,
scheduled listing, and the staff views (own products in any status, review queue, history).

Every mutation runs through `mutate` (ids decoded inside the transaction, one service call in
app/catalog/), and after the commit builds the `Product` through this request's loaders. Roles
are the fields' (reviewing is `IsAdmin`); services check ownership.
"""

import contextlib
from datetime import datetime

import strawberry
from strawberry.types.unset import UNSET

from app.catalog import lifecycle, products
from app.catalog.lifecycle import LifecycleAction
from app.catalog.skus import SkuDraft
from schema.catalog.errors import CatalogUserError
from schema.catalog.types import (
    FulfillmentType,
    Product,
    ProductStatus,
    RechargeAccountKind,
    Sku,
    product_connection,
    then,
)
from schema.context import Info
from schema.ids import gid, input_pk, optional_pk
from schema.mutations import mutate
from schema.pagination import Connection, page_size
from schema.permissions import IsAdmin, IsStaff
from schema.scalars import Money

# ---------------------------------------------------------------- inputs


@strawberry.input
class ProductImageInput:
    url: str


@strawberry.input(description="A KEY or NORMAL attribute: give `valueId` (enumerated) or `text`, not both.")
class ProductAttributeInput:
    attribute_id: strawberry.ID
    value_id: strawberry.ID | None = None
    text: str | None = None


@strawberry.input
class SalesValueInput:
    value_id: strawberry.ID
    image_url: str | None = None


@strawberry.input(description="A SALES attribute of the category with the values offered, in display order.")
class SalesAttributeInput:
    attribute_id: strawberry.ID
    values: list[SalesValueInput]


@strawberry.input(description="One SKU: one chosen value of each sales attribute; prices in cents.")
class SkuInput:
    code: str
    price: Money
    spec_value_ids: list[strawberry.ID] = strawberry.field(default_factory=list)
    list_price: Money | None = None
    member_price: Money | None = None
    member_level: int | None = None
    weight_grams: int = 0
    image_url: str | None = None
    purchase_limit: int | None = None
    recharge_account_kind: RechargeAccountKind | None = strawberry.field(
        default=None, description="Virtual goods only: PHONE (the default) or EMAIL; ignored for physical goods.")


@strawberry.input(description="The SKUs must be exactly the combinations of the sales values; "
                              "a product without sales attributes has one SKU.")
class CreateProductInput:
    category_id: strawberry.ID
    title: str
    fulfillment_type: FulfillmentType
    skus: list[SkuInput]
    merchant_id: strawberry.ID | None = strawberry.field(
        default=None, description="Admins choose; merchant staff always create for their own merchant.")
    brand_id: strawberry.ID | None = None
    subtitle: str = ""
    description: str = ""
    images: list[ProductImageInput] = strawberry.field(default_factory=list)
    attributes: list[ProductAttributeInput] = strawberry.field(default_factory=list)
    sales_attributes: list[SalesAttributeInput] = strawberry.field(default_factory=list)


@strawberry.input(description="Omitted (or null) fields keep their value, except `brandId: null`, which "
                              "removes the brand. Lists replace the whole list; new sales values need "
                              "`skus` for every combination (surviving SKUs keep their ids and stock).")
class UpdateProductInput:
    product_id: strawberry.ID
    category_id: strawberry.ID | None = UNSET
    brand_id: strawberry.ID | None = UNSET
    title: str | None = UNSET
    subtitle: str | None = UNSET
    description: str | None = UNSET
    fulfillment_type: FulfillmentType | None = UNSET
    images: list[ProductImageInput] | None = UNSET
    attributes: list[ProductAttributeInput] | None = UNSET
    sales_attributes: list[SalesAttributeInput] | None = UNSET
    skus: list[SkuInput] | None = UNSET


@strawberry.input(description="The whole price set of a SKU: omitted list/member prices are removed.")
class UpdateSkuPriceInput:
    sku_id: strawberry.ID
    price: Money
    list_price: Money | None = None
    member_price: Money | None = None
    member_level: int | None = None


@strawberry.input
class ProductActionInput:
    product_id: strawberry.ID


@strawberry.input
class RejectProductInput:
    product_id: strawberry.ID
    reason: str


@strawberry.input(description="`at: null` cancels the schedule.")
class ScheduleProductListingInput:
    product_id: strawberry.ID
    at: datetime | None = None


@strawberry.input
class GenerateSkuMatrixInput:
    category_id: strawberry.ID
    sales_attributes: list[SalesAttributeInput]


# ---------------------------------------------------------------- outputs


@strawberry.type
class ProductPayload:
    product: Product | None = None
    user_errors: list[CatalogUserError] = strawberry.field(default_factory=list)  # type: ignore[valid-type]  # a class built by user_error_type


@strawberry.type
class SkuPricePayload:
    sku: Sku | None = None
    user_errors: list[CatalogUserError] = strawberry.field(default_factory=list)  # type: ignore[valid-type]  # a class built by user_error_type


@strawberry.type(description="One cell of a SKU grid: a combination of sales values.")
class SkuMatrixCell:
    spec_value_ids: list[strawberry.ID]
    label: str


@strawberry.type
class ProductStatusChange:
    from_status: ProductStatus | None
    to_status: ProductStatus
    actor: str
    reason: str | None
    at: datetime


@strawberry.type(description="Staff product lists; cursors are opaque.")
class MerchantProductConnection(Connection[Product]):
    pass


# ---------------------------------------------------------------- parsing


def _sales(items: list[SalesAttributeInput], *path: str) -> tuple[products.SalesAttributeChoice, ...]:
    return tuple(products.SalesAttributeChoice(
        input_pk("Attribute", s.attribute_id, *path, str(i), "attributeId"),
        tuple(products.SalesValueChoice(input_pk("AttributeValue", v.value_id, *path, str(i), "values", str(j),
                                                 "valueId"),
                                        v.image_url) for j, v in enumerate(s.values)))
        for i, s in enumerate(items))


def _content_fields(i: CreateProductInput | UpdateProductInput) -> dict:
    """ProductContent fields from the input fields that were given (UNSET and null are left out,
    except brandId, whose null means 'no brand')."""
    given = {name: value for name, value in vars(i).items() if value is not UNSET}
    out: dict = {}
    if "brand_id" in given:
        out["brand_id"] = None if given["brand_id"] is None else input_pk("Brand", given["brand_id"], "brandId")
    given = {k: v for k, v in given.items() if v is not None}
    if "category_id" in given:
        out["category_id"] = input_pk("BackendCategory", given["category_id"], "categoryId")
    for name in ("title", "subtitle", "description"):
        if name in given:
            out[name] = given[name]
    if "fulfillment_type" in given:
        out["fulfillment_type"] = given["fulfillment_type"].value
    if "images" in given:
        out["images"] = tuple(img.url for img in given["images"])
    if "attributes" in given:
        out["attributes"] = tuple(products.AttributeChoice(
            input_pk("Attribute", a.attribute_id, "attributes", str(n), "attributeId"),
            None if a.value_id is None else input_pk("AttributeValue", a.value_id, "attributes", str(n), "valueId"),
            a.text) for n, a in enumerate(given["attributes"]))
    if "sales_attributes" in given:
        out["sales_attributes"] = _sales(given["sales_attributes"], "salesAttributes")
    if "skus" in given:
        out["skus"] = tuple(SkuDraft(
            tuple(input_pk("AttributeValue", v, "skus", str(n), "specValueIds", str(k))
                  for k, v in enumerate(s.spec_value_ids)),
            s.code, s.price, s.list_price, s.member_price, s.member_level, s.weight_grams, s.image_url,
            s.purchase_limit, None if s.recharge_account_kind is None else s.recharge_account_kind.value)
            for n, s in enumerate(given["skus"]))
    return out


def _fresh_product(info: Info, product_id: int):
    """The product as committed, even if this request loaded it before the change."""
    loaders = info.context.loaders
    for loader in (loaders.product, loaders.product_skus, loaders.product_images, loaders.product_attributes,
                   loaders.product_sales_attributes):
        with contextlib.suppress(KeyError):  # not loaded yet
            loader.clear(product_id)
    return loaders.product.load(product_id)


# ---------------------------------------------------------------- resolvers


def _showing(info: Info):
    """The payload of a change whose `act` returned the product's id."""
    return lambda product_id: ProductPayload(product=_fresh_product(info, product_id))


async def _transition(info: Info, product_gid: str, action: LifecycleAction, reason: str | None = None):
    async def act(conn, principal):
        result = await lifecycle.transition(conn, principal, input_pk("Product", product_gid, "productId"),
                                            action, reason)
        return result.product_id
    return await mutate(info, ProductPayload, act, _showing(info))


@strawberry.type
class ProductQuery:
    @strawberry.field(permission_classes=[IsStaff],
                      description="Your merchant's products in any status, newest first (admins: any merchant).")
    async def merchant_products(self, info: Info, merchant_id: strawberry.ID | None = None,
                                status: ProductStatus | None = None, first: int = 20,
                                after: str | None = None) -> MerchantProductConnection:
        size = page_size(first, info.context.settings.max_page_size)
        async with info.context.db.connection() as conn:
            page = await products.merchant_products(conn, info.context.caller,
                                                    optional_pk("Merchant", merchant_id, "merchantId"), status,
                                                    size, after)
        return product_connection(MerchantProductConnection, page, after)

    @strawberry.field(permission_classes=[IsAdmin], description="Products waiting for review, longest waiting first.")
    async def product_review_queue(self, info: Info, first: int = 20,
                                   after: str | None = None) -> MerchantProductConnection:
        size = page_size(first, info.context.settings.max_page_size)
        async with info.context.db.connection() as conn:
            page = await products.review_queue(conn, size, after)
        return product_connection(MerchantProductConnection, page, after)

    @strawberry.field(permission_classes=[IsStaff], description="Every status change of a product, oldest first.")
    async def product_status_history(self, info: Info, product_id: strawberry.ID) -> list[ProductStatusChange]:
        async with info.context.db.connection() as conn:
            rows = await products.status_history(conn, info.context.caller,
                                                 input_pk("Product", product_id, "productId"))
        return [ProductStatusChange(from_status=r["from_status"], to_status=r["to_status"], actor=r["actor"],
                                    reason=r["reason"], at=r["created_at"]) for r in rows]

    @strawberry.field(permission_classes=[IsStaff],
                      description="The SKU grid for proposed sales values, labels in attribute order.")
    async def generate_sku_matrix(self, info: Info, input: GenerateSkuMatrixInput) -> list[SkuMatrixCell]:
        category_id = input_pk("BackendCategory", input.category_id, "categoryId")
        sales = _sales(input.sales_attributes, "salesAttributes")
        async with info.context.db.connection() as conn:
            cells = await products.generate_sku_matrix(conn, category_id, sales)
        return [SkuMatrixCell(spec_value_ids=[gid("AttributeValue", v) for v in c.spec_value_ids], label=c.label)
                for c in cells]


@strawberry.type
class ProductMutation:
    @strawberry.mutation(permission_classes=[IsStaff], description="A new product in DRAFT with its SKUs.")
    async def create_product(self, info: Info, input: CreateProductInput) -> ProductPayload:
        async def act(conn, principal):
            content = products.ProductContent(**_content_fields(input))
            return await products.create_product(conn, principal, optional_pk("Merchant", input.merchant_id,
                                                                              "merchantId"), content)
        return await mutate(info, ProductPayload, act, _showing(info))

    @strawberry.mutation(permission_classes=[IsStaff],
                         description="Edit content (DRAFT, APPROVED or DELISTED); an approved or delisted "
                                     "marketplace product returns to DRAFT for review.")
    async def update_product(self, info: Info, input: UpdateProductInput) -> ProductPayload:
        async def act(conn, principal):
            return await products.update_product(conn, principal, input_pk("Product", input.product_id, "productId"),
                                                 _content_fields(input))
        return await mutate(info, ProductPayload, act, _showing(info))

    @strawberry.mutation(permission_classes=[IsStaff],
                         description="Change a SKU's prices in any status but RECYCLED; no review needed.")
    async def update_sku_price(self, info: Info, input: UpdateSkuPriceInput) -> SkuPricePayload:
        def present(change: products.PriceChange) -> SkuPricePayload:
            with contextlib.suppress(KeyError):  # not loaded yet
                info.context.loaders.product_skus.clear(change.product_id)
            skus = info.context.loaders.product_skus.load(change.product_id)
            return SkuPricePayload(sku=then(skus, lambda loaded: next(s for s in loaded.all if s.pk == change.sku_id)))
        return await mutate(info, SkuPricePayload, lambda conn, principal: products.update_sku_price(
            conn, principal, input_pk("Sku", input.sku_id, "skuId"), input.price, input.list_price,
            input.member_price, input.member_level), present)

    @strawberry.mutation(permission_classes=[IsStaff],
                         description="Send a DRAFT to review (platform products are approved at once).")
    async def submit_product_for_review(self, info: Info, input: ProductActionInput) -> ProductPayload:
        return await _transition(info, input.product_id, LifecycleAction.SUBMIT)

    @strawberry.mutation(permission_classes=[IsAdmin], description="Platform review: approve.")
    async def approve_product(self, info: Info, input: ProductActionInput) -> ProductPayload:
        return await _transition(info, input.product_id, LifecycleAction.APPROVE)

    @strawberry.mutation(permission_classes=[IsAdmin], description="Platform review: back to DRAFT with a reason.")
    async def reject_product(self, info: Info, input: RejectProductInput) -> ProductPayload:
        return await _transition(info, input.product_id, LifecycleAction.REJECT, input.reason)

    @strawberry.mutation(permission_classes=[IsStaff], description="Put an APPROVED or DELISTED product on sale.")
    async def list_product(self, info: Info, input: ProductActionInput) -> ProductPayload:
        return await _transition(info, input.product_id, LifecycleAction.LIST)

    @strawberry.mutation(permission_classes=[IsStaff], description="Take a LISTED product off sale.")
    async def delist_product(self, info: Info, input: ProductActionInput) -> ProductPayload:
        return await _transition(info, input.product_id, LifecycleAction.DELIST)

    @strawberry.mutation(permission_classes=[IsStaff], description="Retire a product that is not on sale.")
    async def recycle_product(self, info: Info, input: ProductActionInput) -> ProductPayload:
        return await _transition(info, input.product_id, LifecycleAction.RECYCLE)

    @strawberry.mutation(permission_classes=[IsStaff],
                         description="List an APPROVED product automatically at `at` (null cancels).")
    async def schedule_product_listing(self, info: Info, input: ScheduleProductListingInput) -> ProductPayload:
        async def act(conn, principal):
            product_id = input_pk("Product", input.product_id, "productId")
            await lifecycle.schedule_listing(conn, principal, product_id, input.at)
            return product_id
        return await mutate(info, ProductPayload, act, _showing(info))
