"""GraphQL types of the catalog setup: categories, attributes, brands, regions, warehouses, stock.

Each type is built from a row of its table by `from_row`; scalar fields are plain attributes
and every relation is a sync resolver returning a DataLoader future of built objects
(schema/loaders.py), so a page costs one statement per level and no coroutine per field.
`pk` keeps the integer key for those loaders and is not exposed.
"""

from decimal import Decimal
from enum import Enum

import strawberry

from schema.context import Info
from schema.ids import gid


@strawberry.enum
class AttributeKind(Enum):
    KEY = "KEY"
    SALES = "SALES"
    NORMAL = "NORMAL"


@strawberry.enum
class BrandStatus(Enum):
    ACTIVE = "ACTIVE"
    DISABLED = "DISABLED"


@strawberry.type(description="A province-level region (GB/T 2260 code).")
class Region:
    code: str
    name: str

    @classmethod
    def from_row(cls, r) -> "Region":
        return cls(code=r["code"], name=r["name"])


@strawberry.type
class AttributeValue:
    pk: strawberry.Private[int]
    id: strawberry.ID
    value: str
    sort: int

    @classmethod
    def from_row(cls, r) -> "AttributeValue":
        return cls(pk=r["id"], id=gid("AttributeValue", r["id"]), value=r["value"], sort=r["sort"])


@strawberry.type(description="An attribute of a backend category's template.")
class Attribute:
    pk: strawberry.Private[int]
    id: strawberry.ID
    category_id: strawberry.ID
    name: str
    kind: AttributeKind
    filterable: bool
    required: bool
    sort: int

    @classmethod
    def from_row(cls, r) -> "Attribute":
        return cls(pk=r["id"], id=gid("Attribute", r["id"]), category_id=gid("BackendCategory", r["category_id"]),
                   name=r["name"], kind=AttributeKind(r["kind"]), filterable=r["filterable"],
                   required=r["required"], sort=r["sort"])

    @strawberry.field
    def values(self, info: Info) -> list[AttributeValue]:
        return info.context.loaders.attribute_values.load(self.pk)


@strawberry.type(description="A node of the backend category tree; products bind to leaves.")
class BackendCategory:
    pk: strawberry.Private[int]
    id: strawberry.ID
    parent_id: strawberry.ID | None
    name: str
    depth: int
    is_leaf: bool
    commission_rate: Decimal = strawberry.field(description="Fraction: 0.0500 is 5%.")
    sort: int

    @classmethod
    def from_row(cls, r) -> "BackendCategory":
        return cls(pk=r["id"], id=gid("BackendCategory", r["id"]), parent_id=gid("BackendCategory", r["parent_id"]),
                   name=r["name"], depth=r["depth"], is_leaf=r["is_leaf"], commission_rate=r["commission_rate"],
                   sort=r["sort"])

    @strawberry.field
    def children(self, info: Info) -> list["BackendCategory"]:
        return info.context.loaders.backend_category_children.load(self.pk)

    @strawberry.field(description="Root first, this category last.")
    def path(self, info: Info) -> list["BackendCategory"]:
        return info.context.loaders.backend_category_path.load(self.pk)

    @strawberry.field(description="The attribute template: the ancestors' attributes, then its own.")
    def attributes(self, info: Info) -> list[Attribute]:
        return info.context.loaders.category_template_attributes.load(self.pk)


@strawberry.type(description="A node of the display tree buyers browse, mapped onto backend categories.")
class FrontendCategory:
    pk: strawberry.Private[int]
    id: strawberry.ID
    parent_id: strawberry.ID | None
    name: str
    icon_url: str | None
    sort: int

    @classmethod
    def from_row(cls, r) -> "FrontendCategory":
        return cls(pk=r["id"], id=gid("FrontendCategory", r["id"]), parent_id=gid("FrontendCategory", r["parent_id"]),
                   name=r["name"], icon_url=r["icon_url"], sort=r["sort"])

    @strawberry.field
    def children(self, info: Info) -> list["FrontendCategory"]:
        return info.context.loaders.frontend_category_children.load(self.pk)

    @strawberry.field
    def backend_category_ids(self, info: Info) -> list[strawberry.ID]:
        return info.context.loaders.frontend_category_backend_ids.load(self.pk)


@strawberry.type
class Brand:
    pk: strawberry.Private[int]
    id: strawberry.ID
    name_zh: str
    name_en: str
    logo_url: str | None
    origin: str
    status: BrandStatus

    @classmethod
    def from_row(cls, r) -> "Brand":
        return cls(pk=r["id"], id=gid("Brand", r["id"]), name_zh=r["name_zh"], name_en=r["name_en"],
                   logo_url=r["logo_url"], origin=r["origin"], status=BrandStatus(r["status"]))

    @strawberry.field(description="Backend categories the brand is linked to.")
    def category_ids(self, info: Info) -> list[strawberry.ID]:
        return info.context.loaders.brand_category_ids.load(self.pk)


@strawberry.type
class Warehouse:
    pk: strawberry.Private[int]
    id: strawberry.ID
    merchant_id: strawberry.ID
    name: str
    address: str
    region_code: str | None
    priority: int = strawberry.field(description="Routing prefers higher priority.")
    active: bool

    @classmethod
    def from_row(cls, r) -> "Warehouse":
        return cls(pk=r["id"], id=gid("Warehouse", r["id"]), merchant_id=gid("Merchant", r["merchant_id"]),
                   name=r["name"], address=r["address"], region_code=r["region_code"], priority=r["priority"],
                   active=r["active"])

    @strawberry.field(description="Province codes this warehouse delivers to.")
    def region_codes(self, info: Info) -> list[str]:
        return info.context.loaders.warehouse_region_codes.load(self.pk)


@strawberry.type(description="Stock of one SKU in one warehouse; available = onHand - reserved.")
class StockLevel:
    warehouse_pk: strawberry.Private[int]
    sku_id: strawberry.ID
    on_hand: int
    reserved: int
    available: int

    @classmethod
    def from_row(cls, r) -> "StockLevel":
        return cls(warehouse_pk=r["warehouse_id"], sku_id=gid("Sku", r["sku_id"]), on_hand=r["on_hand"],
                   reserved=r["reserved"], available=r["on_hand"] - r["reserved"])

    @strawberry.field
    def warehouse(self, info: Info) -> Warehouse:
        return info.context.loaders.warehouse.load(self.warehouse_pk)
