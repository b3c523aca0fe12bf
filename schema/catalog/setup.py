"""GraphQL for the catalog setup: category trees, attribute templates, commission, brands,
regions, warehouses and stock. Resolvers run one service call through `mutate`/`query`
(schema/mutations.py), ids decoded inside the call; the rules live in app/catalog/.
"""

from decimal import Decimal

import strawberry

from app.catalog import brands, categories, warehouses
from schema.catalog.errors import CatalogUserError
from schema.catalog.setup_types import (
    Attribute,
    AttributeKind,
    BackendCategory,
    Brand,
    BrandStatus,
    FrontendCategory,
    Region,
    StockLevel,
    Warehouse,
)
from schema.context import Info
from schema.ids import gid, input_pk, input_pks, optional_pk
from schema.mutations import mutate, query
from schema.pagination import Connection, after_id, connection_of, page_size
from schema.permissions import IsAdmin, IsStaff


def _planted_tree(loader, rows, build) -> list:
    """Build a whole tree from one statement's rows and prime `loader` with every node's children."""
    nodes = {r["id"]: build(r) for r in rows}
    tree = categories.children_by_parent(rows)
    loader.prime_many({pk: [nodes[c["id"]] for c in kids] for pk, kids in tree.items() if pk is not None})
    return [nodes[r["id"]] for r in tree[None]]


# ---- inputs and payloads ----------------------------------------------------------------

@strawberry.input
class CreateBackendCategoryInput:
    parent_id: strawberry.ID | None = None
    name: str
    commission_rate: Decimal = strawberry.field(description="Fraction 0..1, e.g. 0.05 for 5%.")
    sort: int = 0


@strawberry.input(description="Omitted (null) fields keep their value.")
class UpdateBackendCategoryInput:
    id: strawberry.ID
    name: str | None = None
    commission_rate: Decimal | None = None
    sort: int | None = None


@strawberry.type
class BackendCategoryPayload:
    category: BackendCategory | None = None
    user_errors: list[CatalogUserError] = strawberry.field(default_factory=list)  # type: ignore[valid-type]  # a class built by user_error_type


@strawberry.input(description="rate null removes the merchant's override.")
class SetMerchantCommissionRateInput:
    merchant_id: strawberry.ID
    category_id: strawberry.ID
    rate: Decimal | None = None


@strawberry.type
class CommissionRatePayload:
    effective_rate: Decimal | None = strawberry.field(
        default=None, description="What the merchant now pays in this category.")
    user_errors: list[CatalogUserError] = strawberry.field(default_factory=list)  # type: ignore[valid-type]  # a class built by user_error_type


@strawberry.input
class CreateAttributeInput:
    category_id: strawberry.ID
    name: str
    kind: AttributeKind
    filterable: bool = False
    required: bool = False
    sort: int = 0
    values: list[str] = strawberry.field(default_factory=list)


@strawberry.input
class AddAttributeValuesInput:
    attribute_id: strawberry.ID
    values: list[str]


@strawberry.type
class AttributePayload:
    attribute: Attribute | None = None
    user_errors: list[CatalogUserError] = strawberry.field(default_factory=list)  # type: ignore[valid-type]  # a class built by user_error_type


@strawberry.input
class CreateFrontendCategoryInput:
    parent_id: strawberry.ID | None = None
    name: str
    icon_url: str | None = None
    sort: int = 0


@strawberry.input(description="Omitted (null) fields keep their value; iconUrl \"\" removes the icon.")
class UpdateFrontendCategoryInput:
    id: strawberry.ID
    name: str | None = None
    icon_url: str | None = None
    sort: int | None = None


@strawberry.input
class DeleteFrontendCategoryInput:
    id: strawberry.ID


@strawberry.input(description="Replaces the backend leaf categories the display category shows.")
class SetFrontendCategoryMappingsInput:
    frontend_category_id: strawberry.ID
    backend_category_ids: list[strawberry.ID]


@strawberry.type
class FrontendCategoryPayload:
    category: FrontendCategory | None = None
    user_errors: list[CatalogUserError] = strawberry.field(default_factory=list)  # type: ignore[valid-type]  # a class built by user_error_type


@strawberry.type
class DeleteFrontendCategoryPayload:
    deleted_id: strawberry.ID | None = None
    user_errors: list[CatalogUserError] = strawberry.field(default_factory=list)  # type: ignore[valid-type]  # a class built by user_error_type


@strawberry.input
class CreateBrandInput:
    name_zh: str
    name_en: str = ""
    logo_url: str | None = None
    origin: str = ""
    status: BrandStatus = BrandStatus.ACTIVE


@strawberry.input(description="Omitted (null) fields keep their value; logoUrl \"\" removes the logo.")
class UpdateBrandInput:
    id: strawberry.ID
    name_zh: str | None = None
    name_en: str | None = None
    logo_url: str | None = None
    origin: str | None = None
    status: BrandStatus | None = None


@strawberry.input(description="Replaces the backend categories the brand is offered in.")
class SetBrandCategoriesInput:
    brand_id: strawberry.ID
    category_ids: list[strawberry.ID]


@strawberry.type
class BrandPayload:
    brand: Brand | None = None
    user_errors: list[CatalogUserError] = strawberry.field(default_factory=list)  # type: ignore[valid-type]  # a class built by user_error_type


@strawberry.input
class CreateWarehouseInput:
    merchant_id: strawberry.ID | None = strawberry.field(
        default=None, description="Admins choose (default: the platform); staff may give only their own.")
    name: str
    address: str = ""
    region_code: str | None = None
    priority: int = 0
    delivery_region_codes: list[str] = strawberry.field(default_factory=list)


@strawberry.input(description="Omitted (null) fields keep their value; deliveryRegionCodes replaces the set.")
class UpdateWarehouseInput:
    id: strawberry.ID
    name: str | None = None
    address: str | None = None
    region_code: str | None = None
    priority: int | None = None
    active: bool | None = None
    delivery_region_codes: list[str] | None = None


@strawberry.type
class WarehousePayload:
    warehouse: Warehouse | None = None
    user_errors: list[CatalogUserError] = strawberry.field(default_factory=list)  # type: ignore[valid-type]  # a class built by user_error_type


@strawberry.input
class SetStockInput:
    sku_id: strawberry.ID
    warehouse_id: strawberry.ID
    on_hand: int


@strawberry.input
class AdjustStockInput:
    sku_id: strawberry.ID
    warehouse_id: strawberry.ID
    delta: int = strawberry.field(description="Units to add (positive) or remove (negative).")


@strawberry.type
class StockPayload:
    stock: StockLevel | None = None
    user_errors: list[CatalogUserError] = strawberry.field(default_factory=list)  # type: ignore[valid-type]  # a class built by user_error_type


# ---- queries ----------------------------------------------------------------------------

@strawberry.type
class CatalogSetupQuery:
    @strawberry.field(description="China's province-level regions.")
    async def regions(self, info: Info) -> list[Region]:
        async with info.context.db.connection() as conn:
            rows = await warehouses.all_regions(conn)
        return [Region.from_row(r) for r in rows]

    @strawberry.field(permission_classes=[IsStaff], description="The whole backend category tree (roots).")
    async def backend_categories(self, info: Info) -> list[BackendCategory]:
        async with info.context.db.connection() as conn:
            rows = await categories.all_backend_categories(conn)
        return _planted_tree(info.context.loaders.backend_category_children, rows, BackendCategory.from_row)

    @strawberry.field(permission_classes=[IsStaff])
    async def backend_category(self, info: Info, id: strawberry.ID) -> BackendCategory:
        row = await query(info, lambda conn: categories.get_backend_category(
            conn, input_pk("BackendCategory", id, "id"), "id"))
        return BackendCategory.from_row(row)

    @strawberry.field(description="The display category tree (roots), for everyone.")
    async def frontend_categories(self, info: Info) -> list[FrontendCategory]:
        async with info.context.db.connection() as conn:
            rows = await categories.all_frontend_categories(conn)
        info.context.loaders.frontend_category_backend_ids.prime_many(
            {r["id"]: [gid("BackendCategory", pk) for pk in r["backend_category_ids"]] for r in rows})
        return _planted_tree(info.context.loaders.frontend_category_children, rows, FrontendCategory.from_row)

    @strawberry.field(description="Brands by Chinese name, optionally those offered in a category; "
                                  "ACTIVE only unless an admin asks.")
    async def brands(self, info: Info, category_id: strawberry.ID | None = None, first: int = 50,
                     after: str | None = None) -> Connection[Brand]:
        def act(conn):
            return brands.list_brands(conn, info.context.principal, optional_pk("BackendCategory", category_id,
                                                                                "categoryId"),
                                      page_size(first, info.context.settings.max_page_size), after_id(after))
        return connection_of(await query(info, act), first, after, Brand.from_row)

    @strawberry.field(permission_classes=[IsStaff],
                      description="Staff: their merchant's warehouses; admins: one merchant's, or all. "
                                  "By merchant, then highest routing priority.")
    async def warehouses(self, info: Info, merchant_id: strawberry.ID | None = None, first: int = 50,
                         after: str | None = None) -> Connection[Warehouse]:
        def act(conn):
            return warehouses.list_warehouses(conn, info.context.principal,
                                              optional_pk("Merchant", merchant_id, "merchantId"),
                                              page_size(first, info.context.settings.max_page_size), after_id(after))
        return connection_of(await query(info, act), first, after, Warehouse.from_row)

    @strawberry.field(permission_classes=[IsStaff],
                      description="The commission rate a merchant pays in a backend category.")
    async def effective_commission_rate(self, info: Info, merchant_id: strawberry.ID,
                                        category_id: strawberry.ID) -> Decimal:
        return await query(info, lambda conn: categories.commission_rate_for(
            conn, info.context.caller, input_pk("Merchant", merchant_id, "merchantId"),
            input_pk("BackendCategory", category_id, "categoryId")))


# ---- mutations --------------------------------------------------------------------------

@strawberry.type
class CatalogSetupMutation:
    @strawberry.mutation(permission_classes=[IsAdmin])
    async def create_backend_category(self, info: Info, input: CreateBackendCategoryInput) -> BackendCategoryPayload:
        return await mutate(info, BackendCategoryPayload, lambda conn, _: categories.create_backend_category(
            conn, optional_pk("BackendCategory", input.parent_id, "parentId"), input.name, input.commission_rate,
            input.sort), lambda row: BackendCategoryPayload(category=BackendCategory.from_row(row)))

    @strawberry.mutation(permission_classes=[IsAdmin])
    async def update_backend_category(self, info: Info, input: UpdateBackendCategoryInput) -> BackendCategoryPayload:
        return await mutate(info, BackendCategoryPayload, lambda conn, _: categories.update_backend_category(
            conn, input_pk("BackendCategory", input.id, "id"), input.name, input.commission_rate, input.sort),
            lambda row: BackendCategoryPayload(category=BackendCategory.from_row(row)))

    @strawberry.mutation(permission_classes=[IsAdmin])
    async def set_merchant_commission_rate(self, info: Info,
                                           input: SetMerchantCommissionRateInput) -> CommissionRatePayload:
        return await mutate(info, CommissionRatePayload, lambda conn, _: categories.set_merchant_commission_rate(
            conn, input_pk("Merchant", input.merchant_id, "merchantId"),
            input_pk("BackendCategory", input.category_id, "categoryId"), input.rate),
            lambda rate: CommissionRatePayload(effective_rate=rate))

    @strawberry.mutation(permission_classes=[IsAdmin])
    async def create_attribute(self, info: Info, input: CreateAttributeInput) -> AttributePayload:
        return await mutate(info, AttributePayload, lambda conn, _: categories.create_attribute(
            conn, input_pk("BackendCategory", input.category_id, "categoryId"), input.name, input.kind.value,
            input.filterable, input.required, input.sort, input.values),
            lambda row: AttributePayload(attribute=Attribute.from_row(row)))

    @strawberry.mutation(permission_classes=[IsAdmin])
    async def add_attribute_values(self, info: Info, input: AddAttributeValuesInput) -> AttributePayload:
        return await mutate(info, AttributePayload, lambda conn, _: categories.add_attribute_values(
            conn, input_pk("Attribute", input.attribute_id, "attributeId"), input.values),
            lambda row: AttributePayload(attribute=Attribute.from_row(row)))

    @strawberry.mutation(permission_classes=[IsAdmin])
    async def create_frontend_category(self, info: Info,
                                       input: CreateFrontendCategoryInput) -> FrontendCategoryPayload:
        return await mutate(info, FrontendCategoryPayload, lambda conn, _: categories.create_frontend_category(
            conn, optional_pk("FrontendCategory", input.parent_id, "parentId"), input.name, input.icon_url,
            input.sort), lambda row: FrontendCategoryPayload(category=FrontendCategory.from_row(row)))

    @strawberry.mutation(permission_classes=[IsAdmin])
    async def update_frontend_category(self, info: Info,
                                       input: UpdateFrontendCategoryInput) -> FrontendCategoryPayload:
        return await mutate(info, FrontendCategoryPayload, lambda conn, _: categories.update_frontend_category(
            conn, input_pk("FrontendCategory", input.id, "id"), input.name, input.icon_url, input.sort),
            lambda row: FrontendCategoryPayload(category=FrontendCategory.from_row(row)))

    @strawberry.mutation(permission_classes=[IsAdmin])
    async def delete_frontend_category(self, info: Info,
                                       input: DeleteFrontendCategoryInput) -> DeleteFrontendCategoryPayload:
        return await mutate(info, DeleteFrontendCategoryPayload, lambda conn, _: categories.delete_frontend_category(
            conn, input_pk("FrontendCategory", input.id, "id")),
            lambda _: DeleteFrontendCategoryPayload(deleted_id=input.id))

    @strawberry.mutation(permission_classes=[IsAdmin])
    async def set_frontend_category_mappings(self, info: Info,
                                             input: SetFrontendCategoryMappingsInput) -> FrontendCategoryPayload:
        return await mutate(info, FrontendCategoryPayload, lambda conn, _: categories.set_frontend_category_mappings(
            conn, input_pk("FrontendCategory", input.frontend_category_id, "frontendCategoryId"),
            input_pks("BackendCategory", input.backend_category_ids, "backendCategoryIds")),
            lambda row: FrontendCategoryPayload(category=FrontendCategory.from_row(row)))

    @strawberry.mutation(permission_classes=[IsAdmin])
    async def create_brand(self, info: Info, input: CreateBrandInput) -> BrandPayload:
        return await mutate(info, BrandPayload, lambda conn, _: brands.create_brand(
            conn, input.name_zh, input.name_en, input.logo_url, input.origin, input.status.value),
            lambda row: BrandPayload(brand=Brand.from_row(row)))

    @strawberry.mutation(permission_classes=[IsAdmin])
    async def update_brand(self, info: Info, input: UpdateBrandInput) -> BrandPayload:
        return await mutate(info, BrandPayload, lambda conn, _: brands.update_brand(
            conn, input_pk("Brand", input.id, "id"), input.name_zh, input.name_en, input.logo_url, input.origin,
            input.status and input.status.value), lambda row: BrandPayload(brand=Brand.from_row(row)))

    @strawberry.mutation(permission_classes=[IsAdmin])
    async def set_brand_categories(self, info: Info, input: SetBrandCategoriesInput) -> BrandPayload:
        return await mutate(info, BrandPayload, lambda conn, _: brands.set_brand_categories(
            conn, input_pk("Brand", input.brand_id, "brandId"),
            input_pks("BackendCategory", input.category_ids, "categoryIds")),
            lambda row: BrandPayload(brand=Brand.from_row(row)))

    @strawberry.mutation(permission_classes=[IsStaff])
    async def create_warehouse(self, info: Info, input: CreateWarehouseInput) -> WarehousePayload:
        return await mutate(info, WarehousePayload, lambda conn, who: warehouses.create_warehouse(
            conn, who, optional_pk("Merchant", input.merchant_id, "merchantId"), input.name, input.address,
            input.region_code, input.priority, input.delivery_region_codes),
            lambda row: WarehousePayload(warehouse=Warehouse.from_row(row)))

    @strawberry.mutation(permission_classes=[IsStaff])
    async def update_warehouse(self, info: Info, input: UpdateWarehouseInput) -> WarehousePayload:
        return await mutate(info, WarehousePayload, lambda conn, who: warehouses.update_warehouse(
            conn, who, input_pk("Warehouse", input.id, "id"), input.name, input.address, input.region_code,
            input.priority, input.active, input.delivery_region_codes),
            lambda row: WarehousePayload(warehouse=Warehouse.from_row(row)))

    @strawberry.mutation(permission_classes=[IsStaff])
    async def set_stock(self, info: Info, input: SetStockInput) -> StockPayload:
        return await mutate(info, StockPayload, lambda conn, who: warehouses.set_stock(
            conn, who, input_pk("Sku", input.sku_id, "skuId"), input_pk("Warehouse", input.warehouse_id, "warehouseId"),
            input.on_hand), lambda row: StockPayload(stock=StockLevel.from_row(row)))

    @strawberry.mutation(permission_classes=[IsStaff])
    async def adjust_stock(self, info: Info, input: AdjustStockInput) -> StockPayload:
        return await mutate(info, StockPayload, lambda conn, who: warehouses.adjust_stock(
            conn, who, input_pk("Sku", input.sku_id, "skuId"), input_pk("Warehouse", input.warehouse_id, "warehouseId"),
            input.delta), lambda row: StockPayload(stock=StockLevel.from_row(row)))
