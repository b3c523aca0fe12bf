"""Reading a cart: its lines in cart order with the current SKU, product and merchant, grouped
by merchant, with each line's stock state and the selected goods total.

A cart of any size costs four statements: its lines, their SKUs (with available stock) and
products through the catalog's batch reads, and the merchants' names. Prices are the SKUs'
prices now; promotions and the member price belong to the trial pricing (DOMAIN §4).
"""

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

import asyncpg

from app.cart.service import CartOwner
from app.catalog import reads


class LineState(StrEnum):
    IN_STOCK = "IN_STOCK"
    INSUFFICIENT = "INSUFFICIENT"    # less available than the line's quantity (maybe none)
    DELISTED = "DELISTED"            # product not LISTED or SKU DISABLED: cannot be bought


@dataclass(frozen=True)
class CartLineView:
    sku: asyncpg.Record              # catalog SKU row, with `available`
    product: asyncpg.Record          # catalog product row
    quantity: int
    selected: bool
    position: int
    added_at: datetime
    state: LineState

    @property
    def unit_price(self) -> int:
        return self.sku["price"]

    @property
    def amount(self) -> int:
        return self.unit_price * self.quantity

    @property
    def counts_as_selected(self) -> bool:
        """Selected lines that can be bought make the selected totals (and go to checkout)."""
        return self.selected and self.state is not LineState.DELISTED


def _totals(lines: list[CartLineView]) -> tuple[int, int]:
    chosen = [line for line in lines if line.counts_as_selected]
    return sum(line.quantity for line in chosen), sum(line.amount for line in chosen)


@dataclass(frozen=True)
class MerchantGroup:
    merchant_id: int
    merchant_name: str
    lines: list[CartLineView]

    @property
    def selected_total(self) -> int:
        return _totals(self.lines)[1]


@dataclass(frozen=True)
class CartView:
    lines: list[CartLineView]        # cart order
    groups: list[MerchantGroup]      # by each merchant's earliest line

    @property
    def selected_quantity(self) -> int:
        return _totals(self.lines)[0]

    @property
    def selected_total(self) -> int:
        return _totals(self.lines)[1]


def line_state(sku: asyncpg.Record, product: asyncpg.Record, quantity: int) -> LineState:
    if product["status"] != "LISTED" or not product["shop_open"] or sku["status"] != "ACTIVE":
        return LineState.DELISTED
    return LineState.INSUFFICIENT if sku["available"] < quantity else LineState.IN_STOCK


def group_by_merchant(lines: list[CartLineView], merchant_names: dict[int, str]) -> list[MerchantGroup]:
    groups: dict[int, list[CartLineView]] = {}
    for line in lines:
        groups.setdefault(line.sku["merchant_id"], []).append(line)
    return [MerchantGroup(mid, merchant_names.get(mid, ""), group) for mid, group in groups.items()]


async def read_cart(conn: asyncpg.Connection, owner: CartOwner) -> CartView:
    column, value = owner.column
    rows = await conn.fetch(
        f"SELECT l.sku_id, l.quantity, l.selected, l.position, l.added_at FROM cart_lines l"
        f" JOIN carts c ON c.id = l.cart_id WHERE c.{column} = $1 ORDER BY l.position", value)
    if not rows:
        return CartView([], [])
    skus = await reads.skus_by_ids(conn, [r["sku_id"] for r in rows])
    product_ids = sorted({s["product_id"] for s in skus if s is not None})
    products = dict(zip(product_ids, await reads.products_by_ids(conn, product_ids)))
    merchant_ids = sorted({s["merchant_id"] for s in skus if s is not None})
    names = {r["id"]: r["name"] for r in await conn.fetch(
        "SELECT id, name FROM merchants WHERE id = ANY($1::bigint[])", merchant_ids)}
    lines = [CartLineView(sku, products[sku["product_id"]], r["quantity"], r["selected"], r["position"],
                          r["added_at"], line_state(sku, products[sku["product_id"]], r["quantity"]))
             for r, sku in zip(rows, skus) if sku is not None]  # a SKU deleted meanwhile: its line goes too
    return CartView(lines, group_by_merchant(lines, names))
