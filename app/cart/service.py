"""Changing a cart (DOMAIN §3): a buyer's cart, or an anonymous device's cart that is merged
into the buyer's cart at sign-in.

Rules (docs/cart.md):
- One line per SKU. Adding a SKU already in the cart adds to its quantity, selects the line and
  keeps its position; a new SKU goes after every line. At most `MAX_LINES` lines (CART_FULL).
- A requested quantity is 1..`MAX_LINE_QUANTITY` (INVALID_QUANTITY); only sellable SKUs
  (product LISTED, SKU ACTIVE) are added or changed (NOT_AVAILABLE), and a SKU with nothing
  available is refused (OUT_OF_STOCK).
- A line's quantity is capped by the SKU's purchase limit, by the stock available now and by
  `MAX_LINE_QUANTITY`: a capped change is made and reported as a `CartWarning`, never as an
  error, because the buyer still gets a usable cart line. An add never lowers what a line holds.
- Every add or merge locks the cart row first (`_open_cart`), so the line count and positions of
  one cart never race; the quantity itself is still an atomic `ON CONFLICT DO UPDATE` increment.
- A merge takes the anonymous cart's lines away in the same transaction (its row is deleted),
  so it is idempotent: a second merge of the same device token finds nothing.
"""

import re
from dataclasses import dataclass

import asyncpg

from app.cart.errors import CartError, CartWarningCode
from app.catalog import reads
from app.errors import CommonError, DomainError, NotFound

MAX_LINES = 200
MAX_LINE_QUANTITY = 999          # the cart_lines CHECK; more of one SKU is a typo, not a purchase
DEVICE_TOKEN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


@dataclass(frozen=True)
class CartOwner:
    """Exactly one of a buyer id or a (checked) anonymous device token."""

    buyer_id: int | None = None
    device_token: str | None = None

    @property
    def column(self) -> tuple[str, int | str | None]:
        """The carts column that identifies this owner's cart, and its value."""
        if self.buyer_id is not None:
            return "buyer_id", self.buyer_id
        return "device_token", self.device_token


@dataclass(frozen=True)
class CartWarning:
    """A change that was made, but not quite as asked."""

    sku_id: int
    code: CartWarningCode
    message: str
    requested: int        # the quantity the line would have held
    quantity: int         # what it holds now (0: not in the cart)


def check_device_token(token: str, *field: str) -> str:
    if not DEVICE_TOKEN.match(token):
        raise DomainError.of(CartError.INVALID_DEVICE_TOKEN, "a device token is 16 to 64 characters of A-Z a-z 0-9 _ -",
                             *field)
    return token


def _check_quantity(quantity: int) -> None:
    if not 1 <= quantity <= MAX_LINE_QUANTITY:
        raise DomainError.of(CartError.INVALID_QUANTITY, f"quantity must be 1 to {MAX_LINE_QUANTITY}", "quantity")


def _cap(wanted: int, purchase_limit: int | None, available: int | None
         ) -> tuple[int, CartWarningCode | None, str]:
    """The quantity a line may hold when `wanted` is asked, with the binding cap's code and
    message (code None when nothing binds); a None limit or stock does not cap."""
    caps = [(MAX_LINE_QUANTITY, CartWarningCode.MAX_QUANTITY, f"at most {MAX_LINE_QUANTITY} of one item per cart")]
    if purchase_limit is not None:
        caps.append((purchase_limit, CartWarningCode.PURCHASE_LIMIT,
                     f"at most {purchase_limit} of this item per order"))
    if available is not None:
        available = max(available, 0)
        caps.append((available, CartWarningCode.INSUFFICIENT_STOCK, f"only {available} of this item left"))
    cap, code, message = min(caps, key=lambda c: c[0])
    return (wanted, None, "") if wanted <= cap else (cap, code, message)


async def _sellable_sku(conn: asyncpg.Connection, sku_id: int) -> asyncpg.Record:
    """The SKU with what can be sold now, if a buyer may put it in a cart."""
    [sku] = await reads.skus_by_ids(conn, [sku_id])
    if sku is None:
        raise NotFound.of(CommonError.NOT_FOUND, "no such item", "skuId")
    [product] = await reads.products_by_ids(conn, [sku["product_id"]])
    assert product is not None, "a SKU's product exists (foreign key)"
    if product["status"] != "LISTED" or not product["shop_open"] or sku["status"] != "ACTIVE":
        raise DomainError.of(CartError.NOT_AVAILABLE, "this item is not on sale", "skuId")
    if sku["available"] <= 0:
        raise DomainError.of(CartError.OUT_OF_STOCK, "this item is out of stock", "skuId")
    return sku


async def _open_cart(conn: asyncpg.Connection, owner: CartOwner) -> int:
    """The owner's cart, created if missing, locked until the transaction ends."""
    column, value = owner.column
    return await conn.fetchval(
        f"INSERT INTO carts ({column}) VALUES ($1)"
        f" ON CONFLICT ({column}) DO UPDATE SET updated_at = now() RETURNING id", value)


async def add_line(conn: asyncpg.Connection, owner: CartOwner, sku_id: int, quantity: int) -> list[CartWarning]:
    _check_quantity(quantity)
    sku = await _sellable_sku(conn, sku_id)
    cart_id = await _open_cart(conn, owner)
    line = await conn.fetchrow(
        "SELECT (SELECT quantity FROM cart_lines WHERE cart_id = $1 AND sku_id = $2) AS quantity,"
        "       (SELECT count(*) FROM cart_lines WHERE cart_id = $1) AS lines,"
        "       (SELECT coalesce(max(position), 0) FROM cart_lines WHERE cart_id = $1) AS last_position",
        cart_id, sku_id)
    held = line["quantity"] or 0
    if not held and line["lines"] >= MAX_LINES:
        raise DomainError.of(CartError.CART_FULL, f"a cart holds at most {MAX_LINES} items; remove some first", "skuId")
    wanted = held + quantity
    capped, code, message = _cap(wanted, sku["purchase_limit"], sku["available"])
    new = max(capped, held)
    if new > held:  # the increment is atomic on its own; the cart lock only orders positions
        await conn.execute(
            "INSERT INTO cart_lines (cart_id, sku_id, quantity, position) VALUES ($1, $2, $3, $4)"
            " ON CONFLICT (cart_id, sku_id) DO UPDATE"
            " SET quantity = cart_lines.quantity + EXCLUDED.quantity, selected = true",
            cart_id, sku_id, new - held, line["last_position"] + 1)
    return [CartWarning(sku_id, code, message, wanted, new)] if code else []


async def update_line(conn: asyncpg.Connection, owner: CartOwner, sku_id: int, quantity: int) -> list[CartWarning]:
    """Set a line's quantity (use remove to drop it)."""
    _check_quantity(quantity)
    sku = await _sellable_sku(conn, sku_id)
    new, code, message = _cap(quantity, sku["purchase_limit"], sku["available"])
    column, value = owner.column
    updated = await conn.fetchval(
        f"UPDATE cart_lines l SET quantity = $3 FROM carts c"
        f" WHERE c.id = l.cart_id AND c.{column} = $1 AND l.sku_id = $2 RETURNING l.sku_id",
        value, sku_id, new)
    if updated is None:
        raise NotFound.of(CommonError.NOT_FOUND, "this item is not in the cart", "skuId")
    return [CartWarning(sku_id, code, message, quantity, new)] if code else []


def _check_id_count(sku_ids: list[int]) -> None:
    if len(sku_ids) > MAX_LINES:
        raise DomainError.of(CommonError.TOO_MANY, f"at most {MAX_LINES} items at once", "skuIds")


async def remove_lines(conn: asyncpg.Connection, owner: CartOwner, sku_ids: list[int]) -> list[CartWarning]:
    """Items not in the cart are ignored, so a retried removal succeeds."""
    _check_id_count(sku_ids)
    column, value = owner.column
    await conn.execute(f"DELETE FROM cart_lines l USING carts c"
                       f" WHERE c.id = l.cart_id AND c.{column} = $1 AND l.sku_id = ANY($2::bigint[])",
                       value, sku_ids)
    return []


async def select_lines(conn: asyncpg.Connection, owner: CartOwner, sku_ids: list[int] | None,
                       selected: bool) -> list[CartWarning]:
    """Select or unselect the given lines (None: every line); items not in the cart are ignored."""
    if sku_ids is not None:
        _check_id_count(sku_ids)
    column, value = owner.column
    await conn.execute(f"UPDATE cart_lines l SET selected = $3 FROM carts c"
                       f" WHERE c.id = l.cart_id AND c.{column} = $1"
                       f" AND ($2::bigint[] IS NULL OR l.sku_id = ANY($2::bigint[]))",
                       value, sku_ids, selected)
    return []


async def clear(conn: asyncpg.Connection, owner: CartOwner) -> list[CartWarning]:
    column, value = owner.column
    await conn.execute(f"DELETE FROM cart_lines l USING carts c WHERE c.id = l.cart_id AND c.{column} = $1", value)
    return []


async def merge_device_cart(conn: asyncpg.Connection, buyer_id: int, device_token: str) -> list[CartWarning]:
    """Move an anonymous cart's lines into the buyer's cart and delete it.

    The same SKU adds up (capped by the purchase limit and `MAX_LINE_QUANTITY`, not by stock: the
    cart shows INSUFFICIENT instead); new SKUs go after the buyer's lines in their anonymous order
    and keep their selected flag; lines beyond `MAX_LINES` are dropped with a CART_FULL warning.
    Locks the anonymous cart, then the buyer's: every merge takes them in that order.
    """
    check_device_token(device_token, "deviceToken")
    anonymous_id = await conn.fetchval("SELECT id FROM carts WHERE device_token = $1 FOR UPDATE", device_token)
    if anonymous_id is None:
        return []
    incoming = await conn.fetch("DELETE FROM cart_lines WHERE cart_id = $1"
                                " RETURNING sku_id, quantity, selected, position, added_at", anonymous_id)
    await conn.execute("DELETE FROM carts WHERE id = $1", anonymous_id)
    if not incoming:
        return []
    incoming = sorted(incoming, key=lambda r: r["position"])
    cart_id = await _open_cart(conn, CartOwner(buyer_id=buyer_id))
    held = {r["sku_id"]: r for r in await conn.fetch(
        "SELECT sku_id, quantity, position FROM cart_lines WHERE cart_id = $1", cart_id)}
    skus = await reads.skus_by_ids(conn, [r["sku_id"] for r in incoming])
    last_position = max((r["position"] for r in held.values()), default=0)
    line_count = len(held)
    rows, warnings = [], []
    for line, sku in zip(incoming, skus):
        sku_id, prior = line["sku_id"], held.get(line["sku_id"])
        if prior is None and line_count >= MAX_LINES:
            warnings.append(CartWarning(sku_id, CartWarningCode.CART_FULL, f"a cart holds at most {MAX_LINES} items",
                                        line["quantity"], 0))
            continue
        wanted = line["quantity"] + (prior["quantity"] if prior else 0)
        # Stock is left to the line's stock state: only the limits that hold for any order cap a merge.
        new, code, message = _cap(wanted, None if sku is None else sku["purchase_limit"], None)
        new = max(new, prior["quantity"] if prior else 0)
        if code:
            warnings.append(CartWarning(sku_id, code, message, wanted, new))
        if prior is None:
            last_position += 1
            line_count += 1
        rows.append((sku_id, new, line["selected"], prior["position"] if prior else last_position,
                     line["added_at"]))
    if rows:
        await conn.execute(
            "INSERT INTO cart_lines (cart_id, sku_id, quantity, selected, position, added_at)"
            " SELECT $1, * FROM unnest($2::bigint[], $3::int[], $4::boolean[], $5::int[], $6::timestamptz[])"
            " ON CONFLICT (cart_id, sku_id) DO UPDATE SET quantity = EXCLUDED.quantity",
            cart_id, *map(list, zip(*rows)))
    return warnings
