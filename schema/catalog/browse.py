"""Buyer browsing: search with filters, facets, sorts and cursor pagination; product detail."""

from enum import Enum

import strawberry
from graphql import FieldNode, FragmentSpreadNode

from app.catalog import reads
from app.errors import CommonError, NotFound
from schema.catalog.setup_types import Attribute, AttributeValue, Brand
from schema.catalog.types import Product, product_connection
from schema.context import Info
from schema.errors import UNSTORABLE_TEXT_MESSAGE, PublicError
from schema.ids import input_pk, input_pks, optional_pk
from schema.pagination import Connection, page_size
from schema.scalars import Money


@strawberry.enum
class ProductSort(Enum):
    RELEVANCE = "RELEVANCE"
    PRICE_ASC = "PRICE_ASC"
    PRICE_DESC = "PRICE_DESC"
    SALES = "SALES"
    NEWEST = "NEWEST"


@strawberry.type
class BrandFacet:
    brand: Brand
    count: int


@strawberry.type
class AttributeValueFacet:
    value: AttributeValue
    count: int


@strawberry.type
class AttributeFacet:
    attribute: Attribute
    values: list[AttributeValueFacet]


@strawberry.type(description="Cents; over the active SKUs of the matching products.")
class PriceRange:
    min: Money | None
    max: Money | None


@strawberry.type(description="Counts over the whole result, each group ignoring its own filter, so a buyer "
                             "sees what choosing another brand, value, price or stock option would give.")
class ProductFacets:
    brands: list[BrandFacet]
    attributes: list[AttributeFacet] = strawberry.field(description="Filterable attributes only.")
    price_range: PriceRange
    in_stock_count: int

    @classmethod
    def from_row(cls, r) -> "ProductFacets":
        return cls(
            brands=[BrandFacet(brand=Brand.from_row(b["brand"]), count=b["count"]) for b in r["brands"]],
            attributes=[AttributeFacet(attribute=Attribute.from_row(a["attribute"]),
                                       values=[AttributeValueFacet(value=AttributeValue.from_row(v["value"]),
                                                                   count=v["count"]) for v in a["values"]])
                        for a in r["attributes"]],
            price_range=PriceRange(min=r["price_range"]["min"], max=r["price_range"]["max"]),
            in_stock_count=r["in_stock_count"])


def _selected_names(info: Info, path: tuple[str, ...]) -> set[str]:
    """Field names selected at `path` below the current field, through fragments. Read from
    graphql-core's syntax tree: `info.selected_fields` would convert the whole selection into
    new objects on every request."""
    raw = info._raw_info  # graphql-core's resolve info
    return _names_below(raw.field_nodes, path, raw.fragments)


def _names_below(nodes, path: tuple[str, ...], fragments: dict) -> set[str]:
    names: set[str] = set()
    for node in nodes:
        for sel in node.selection_set.selections if node.selection_set else ():
            if isinstance(sel, FieldNode):
                if not path:
                    names.add(sel.name.value)
                elif sel.name.value == path[0]:
                    names |= _names_below([sel], path[1:], fragments)
            elif isinstance(sel, FragmentSpreadNode):
                names |= _names_below([fragments[sel.name.value]], path, fragments)
            else:  # an inline fragment
                names |= _names_below([sel], path, fragments)
    return names


@strawberry.type
class ProductConnection(Connection[Product]):
    search: strawberry.Private[reads.ProductSearch]

    @strawberry.field(description="Matching products over all pages (one more statement).")
    async def total_count(self, info: Info) -> int:
        return await reads.count_products(info.context.db, self.search)

    @strawberry.field
    async def facets(self, info: Info) -> ProductFacets:
        return ProductFacets.from_row(await reads.product_facets(info.context.db, self.search))


@strawberry.type
class BrowseQuery:
    @strawberry.field(description="Buyer search over listed products. Filters AND together; several "
                                  "values of one attribute OR together. A price range matches products "
                                  "whose SKU price range overlaps it. `inStock: true` keeps products with "
                                  "an active SKU available; false or null does not filter.")
    async def products(self, info: Info, search: str | None = None,
                       frontend_category_id: strawberry.ID | None = None,
                       brand_ids: list[strawberry.ID] | None = None,
                       attribute_value_ids: list[strawberry.ID] | None = None,
                       price_min: Money | None = None, price_max: Money | None = None,
                       in_stock: bool | None = None, sort: ProductSort = ProductSort.RELEVANCE,
                       first: int = 20, after: str | None = None) -> ProductConnection:
        if search and "\x00" in search:  # refused like every other string PostgreSQL cannot hold
            raise PublicError(UNSTORABLE_TEXT_MESSAGE, "BAD_REQUEST")
        size = page_size(first, info.context.settings.max_page_size)
        query = reads.ProductSearch(
            search=search,
            frontend_category_id=optional_pk("FrontendCategory", frontend_category_id, "frontendCategoryId"),
            brand_ids=tuple(input_pks("Brand", brand_ids or [], "brandIds")),
            attribute_value_ids=tuple(input_pks("AttributeValue", attribute_value_ids or [], "attributeValueIds")),
            price_min=price_min, price_max=price_max, in_stock=in_stock, sort=sort.value)
        query.check()
        page = await reads.search_products(info.context.db, query, size, after)
        connection = product_connection(ProductConnection, page, after, search=query)
        # The page's selected relations, loaded now: the whole page then completes synchronously.
        await Product.prefetch(info, [e.node for e in connection.edges], _selected_names(info, ("edges", "node")))
        return connection

    @strawberry.field(description="A product by id: listed ones for everyone, any status for its "
                                  "merchant's staff and admins.")
    async def product(self, info: Info, id: strawberry.ID) -> Product:
        product = await info.context.loaders.product.load(input_pk("Product", id, "id"))
        principal = info.context.principal
        if product is None or ((product.status != "LISTED" or not product.shop_open)
                               and not (principal and principal.can_manage_merchant(product.merchant_pk))):
            raise NotFound.of(CommonError.NOT_FOUND, "product not found", "id")
        await Product.prefetch(info, [product], _selected_names(info, ()))
        return product

