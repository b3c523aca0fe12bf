"""GraphQL for writing products: create/update with the SKU grid, prices, the review lifecycle,
scheduled listing, and the staff views (own products in any status, review queue, history).

Resolvers parse ids, open one transaction, call one service in app/catalog/, and after the
commit build the `Product` through this request's loaders.
"""

import contextlib
from datetime import datetime

import strawberry
from strawberry.types.unset import UNSET

from app.catalog import lifecycle, products
from app.catalog.lifecycle import LifecycleAction
from app.catalog.reads import ProductPage
from app.catalog.skus import SkuDraft
from app.errors import DomainError
from app.ids import InvalidId, decode_id, encode_id
from schema.catalog.browse import ProductEdge
from schema.catalog.types import FulfillmentType, Product, ProductStatus, Sku, then
from schema.context import Info
from schema.ids import input_pk
from schema.errors import PublicError, UserError, public_error, user_errors
from schema.pagination import PageInfo, page_info
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
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class SkuPricePayload:
    sku: Sku | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


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
class MerchantProductConnection:
    edges: list[ProductEdge]
    page_info: PageInfo

    @classmethod
    def from_page(cls, page: ProductPage, after: str | None) -> "MerchantProductConnection":
        return cls(edges=[ProductEdge(node=Product.from_row(r), cursor=c) for r, c in zip(page.rows, page.cursors)],
                   page_info=page_info(page.cursors, page.has_next_page, after))


# ---------------------------------------------------------------- parsing


def _sales(items: list[SalesAttributeInput], *path: str) -> tuple[products.SalesAttributeChoice, ...]:
    return tuple(products.SalesAttributeChoice(
        input_pk("Attribute", s.attribute_id, *path, str(i), "attributeId"),
        tuple(products.SalesValueChoice(input_pk("AttributeValue", v.value_id, *path, str(i), "values", str(j), "valueId"),
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
            s.purchase_limit) for n, s in enumerate(given["skus"]))
    return out


def _fresh_product(info: Info, product_id: int):
    """The product as committed, even if this request loaded it before the change."""
    loaders = info.context.loaders
    for loader in (loaders.product, loaders.product_skus, loaders.product_images, loaders.product_attributes,
                   loaders.product_sales_attributes):
        with contextlib.suppress(KeyError):  # not loaded yet
            loader.clear(product_id)
    return loaders.product.load(product_id)


def _page_size(info: Info, first: int) -> int:
    limit = info.context.settings.max_page_size
    if not 0 <= first <= limit:
        raise PublicError(f"first must be between 0 and {limit}", "BAD_ARGUMENT")
    return first


# ---------------------------------------------------------------- resolvers


async def _product_change(info: Info, call) -> ProductPayload:
    """Run `call(conn)` (returns the product id) in one transaction; map failures to userErrors."""
    try:
        async with info.context.db.transaction() as conn:
            product_id = await call(conn)
    except (DomainError, InvalidId) as exc:
        return ProductPayload(user_errors=user_errors(exc))
    return ProductPayload(product=_fresh_product(info, product_id))


async def _transition(info: Info, product_gid: str, action: LifecycleAction, reason: str | None = None):
    principal = info.context.principal

    async def call(conn):
        result = await lifecycle.transition(conn, principal, input_pk("Product", product_gid, "productId"),
                                            action, reason)
        return result.product_id
    return await _product_change(info, call)


@strawberry.type
class ProductQuery:
    @strawberry.field(permission_classes=[IsStaff],
                      description="Your merchant's products in any status, newest first (admins: any merchant).")
    async def merchant_products(self, info: Info, merchant_id: strawberry.ID | None = None,
                                status: ProductStatus | None = None, first: int = 20,
                                after: str | None = None) -> MerchantProductConnection:
        first = _page_size(info, first)
        try:
            mid = None if merchant_id is None else decode_id("Merchant", merchant_id)
            async with info.context.db.connection() as conn:
                page = await products.merchant_products(conn, info.context.principal, mid, status, first, after)
        except (DomainError, InvalidId) as exc:
            raise public_error(exc) from None
        return MerchantProductConnection.from_page(page, after)

    @strawberry.field(permission_classes=[IsAdmin], description="Products waiting for review, longest waiting first.")
    async def product_review_queue(self, info: Info, first: int = 20,
                                   after: str | None = None) -> MerchantProductConnection:
        first = _page_size(info, first)
        try:
            async with info.context.db.connection() as conn:
                page = await products.review_queue(conn, info.context.principal, first, after)
        except DomainError as exc:
            raise public_error(exc) from None
        return MerchantProductConnection.from_page(page, after)

    @strawberry.field(permission_classes=[IsStaff], description="Every status change of a product, oldest first.")
    async def product_status_history(self, info: Info, product_id: strawberry.ID) -> list[ProductStatusChange]:
        try:
            async with info.context.db.connection() as conn:
                rows = await products.status_history(conn, info.context.principal, decode_id("Product", product_id))
        except (DomainError, InvalidId) as exc:
            raise public_error(exc) from None
        return [ProductStatusChange(from_status=r["from_status"], to_status=r["to_status"], actor=r["actor"],
                                    reason=r["reason"], at=r["created_at"]) for r in rows]

    @strawberry.field(permission_classes=[IsStaff],
                      description="The SKU grid for proposed sales values, labels in attribute order.")
    async def generate_sku_matrix(self, info: Info, input: GenerateSkuMatrixInput) -> list[SkuMatrixCell]:
        try:
            category_id = input_pk("BackendCategory", input.category_id, "categoryId")
            sales = _sales(input.sales_attributes, "salesAttributes")
            async with info.context.db.connection() as conn:
                cells = await products.generate_sku_matrix(conn, category_id, sales)
        except DomainError as exc:
            raise public_error(exc) from None
        return [SkuMatrixCell(spec_value_ids=[strawberry.ID(encode_id("AttributeValue", v)) for v in c.spec_value_ids],
                              label=c.label) for c in cells]


@strawberry.type
class ProductMutation:
    @strawberry.mutation(permission_classes=[IsStaff], description="A new product in DRAFT with its SKUs.")
    async def create_product(self, info: Info, input: CreateProductInput) -> ProductPayload:
        principal = info.context.principal

        async def call(conn):
            merchant_id = None if input.merchant_id is None else input_pk("Merchant", input.merchant_id, "merchantId")
            content = products.ProductContent(**_content_fields(input))
            return await products.create_product(conn, principal, merchant_id, content)
        return await _product_change(info, call)

    @strawberry.mutation(permission_classes=[IsStaff],
                         description="Edit content (DRAFT, APPROVED or DELISTED); an approved or delisted "
                                     "marketplace product returns to DRAFT for review.")
    async def update_product(self, info: Info, input: UpdateProductInput) -> ProductPayload:
        principal = info.context.principal

        async def call(conn):
            product_id = input_pk("Product", input.product_id, "productId")
            return await products.update_product(conn, principal, product_id, _content_fields(input))
        return await _product_change(info, call)

    @strawberry.mutation(permission_classes=[IsStaff],
                         description="Change a SKU's prices in any status but RECYCLED; no review needed.")
    async def update_sku_price(self, info: Info, input: UpdateSkuPriceInput) -> SkuPricePayload:
        try:
            sku_id = input_pk("Sku", input.sku_id, "skuId")
            async with info.context.db.transaction() as conn:
                change = await products.update_sku_price(conn, info.context.principal, sku_id, input.price,
                                                         input.list_price, input.member_price, input.member_level)
        except (DomainError, InvalidId) as exc:
            return SkuPricePayload(user_errors=user_errors(exc))
        with contextlib.suppress(KeyError):  # not loaded yet
            info.context.loaders.product_skus.clear(change.product_id)
        skus = info.context.loaders.product_skus.load(change.product_id)
        return SkuPricePayload(sku=then(skus, lambda loaded: next(s for s in loaded.all if s.pk == change.sku_id)))

    @strawberry.mutation(permission_classes=[IsStaff],
                         description="Send a DRAFT to review (platform products are approved at once).")
    async def submit_product_for_review(self, info: Info, input: ProductActionInput) -> ProductPayload:
        return await _transition(info, input.product_id, LifecycleAction.SUBMIT)

    @strawberry.mutation(permission_classes=[IsStaff], description="Platform review: approve (admins only).")
    async def approve_product(self, info: Info, input: ProductActionInput) -> ProductPayload:
        return await _transition(info, input.product_id, LifecycleAction.APPROVE)

    @strawberry.mutation(permission_classes=[IsStaff],
                         description="Platform review: back to DRAFT with a reason (admins only).")
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
        principal = info.context.principal

        async def call(conn):
            product_id = input_pk("Product", input.product_id, "productId")
            await lifecycle.schedule_listing(conn, principal, product_id, input.at)
            return product_id
        return await _product_change(info, call)
