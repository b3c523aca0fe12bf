"""GraphQL for the cart: the `cart` query and the line mutations, for a signed-in buyer or an
anonymous device.

An anonymous cart is named by the `X-Device-Token` header (16–64 characters of
A-Z a-z 0-9 _ -, generated once by the client, e.g. 128 random bits in base64url). A signed-in
buyer always gets their own cart (the header is then ignored, except by `buyerLogin` and
`registerBuyer`, which merge the device's cart into the buyer's); staff accounts have none.
"""

from collections.abc import Sequence
from datetime import datetime
from enum import Enum
from typing import TypeAlias

import strawberry

from app.cart import service as cart
from app.cart.errors import CartError, CartWarningCode
from app.cart.service import CartOwner
from app.cart.view import CartLineView, CartView, MerchantGroup, read_cart
from app.errors import CommonError, DomainError
from schema.cart_access import HasCart, cart_owner
from schema.catalog.types import Product, Sku, then
from schema.context import Info
from schema.errors import user_error_type
from schema.ids import gid, input_pk, input_pks
from schema.mutations import mutate, query
from schema.permissions import IsBuyer
from schema.pricing import CheckoutPricing, PaymentChannel, preview_pricing
from schema.scalars import Money

CartUserError = user_error_type("Cart", CartError)
strawberry.enum(CartWarningCode, name="CartWarningCode", description="Why a change was made, but adjusted.")
CartWarningKind: TypeAlias = CartWarningCode  # the cart's enum is the GraphQL enum

# ---------------------------------------------------------------- outputs


@strawberry.enum(description="DELISTED: the product is off sale or the SKU disabled; INSUFFICIENT: less "
                             "available than the line's quantity.")
class CartStockState(Enum):
    IN_STOCK = "IN_STOCK"
    INSUFFICIENT = "INSUFFICIENT"
    DELISTED = "DELISTED"


@strawberry.type(description="One SKU in the cart; prices in cents are the SKU's current prices.")
class CartLine:
    product_pk: strawberry.Private[int]
    sku: Sku
    product: Product
    quantity: int
    selected: bool
    position: int = strawberry.field(description="Cart order: a new SKU goes after every line.")
    added_at: datetime
    unit_price: Money = strawberry.field(description="The SKU's price now (promotions and the member "
                                                     "price come with the trial pricing).")
    amount: Money = strawberry.field(description="unitPrice × quantity.")
    stock_state: CartStockState

    @classmethod
    def from_view(cls, line: CartLineView) -> "CartLine":
        return cls(product_pk=line.product["id"], sku=Sku.from_row(line.sku), product=Product.from_row(line.product),
                   quantity=line.quantity, selected=line.selected, position=line.position,
                   added_at=line.added_at, unit_price=line.unit_price, amount=line.amount,
                   stock_state=CartStockState(line.state.value))

    @strawberry.field(description="The SKU's image, else the product's main image.")
    def image_url(self, info: Info) -> str | None:
        if self.sku.image_url:
            return self.sku.image_url
        return then(info.context.loaders.product_images.load(self.product_pk),
                    lambda images: images[0].url if images else None)


@strawberry.type(description="The lines of one merchant (shop), in cart order.")
class CartMerchantGroup:
    merchant_id: strawberry.ID
    merchant_name: str
    lines: list[CartLine]
    selected_total: Money = strawberry.field(description="Σ amount of its selected lines that are not DELISTED.")

    @classmethod
    def from_view(cls, group: MerchantGroup) -> "CartMerchantGroup":
        return cls(merchant_id=gid("Merchant", group.merchant_id),
                   merchant_name=group.merchant_name, lines=[CartLine.from_view(line) for line in group.lines],
                   selected_total=group.selected_total)


@strawberry.type(description="A buyer's or a device's cart, grouped by merchant (earliest line first).")
class Cart:
    owner: strawberry.Private[CartOwner]
    groups: list[CartMerchantGroup]
    line_count: int
    selected_quantity: int = strawberry.field(description="Σ quantity of selected lines that are not DELISTED.")
    selected_total: Money = strawberry.field(
        description="Σ amount of selected lines that are not DELISTED: goods only, before promotions.")

    @classmethod
    def from_view(cls, view: CartView, owner: CartOwner) -> "Cart":
        return cls(owner=owner, groups=[CartMerchantGroup.from_view(g) for g in view.groups],
                   line_count=len(view.lines), selected_quantity=view.selected_quantity,
                   selected_total=view.selected_total)

    @strawberry.field(description="Trial pricing of the selected lines, as `checkoutPreview(input: {fromCart: true, "
                                  "…})` gives it; null when no line is selected.")
    async def preview(self, info: Info, coupon_ids: list[strawberry.ID] | None = None,
                      payment_channel: PaymentChannel | None = None,
                      region_code: str | None = None) -> CheckoutPricing | None:
        return await preview_pricing(info, self.owner.buyer_id, self.owner, None, coupon_ids, payment_channel,
                                     region_code)


@strawberry.type(description="The change was made, adjusted: e.g. the quantity was capped at the purchase limit. "
                             "Codes: PURCHASE_LIMIT, INSUFFICIENT_STOCK, MAX_QUANTITY, CART_FULL.")
class CartWarning:
    sku_id: strawberry.ID
    code: CartWarningKind
    message: str
    requested_quantity: int
    quantity: int = strawberry.field(description="What the line holds now (0: not in the cart).")

    @classmethod
    def from_warning(cls, w: cart.CartWarning) -> "CartWarning":
        return cls(sku_id=gid("Sku", w.sku_id), code=w.code, message=w.message,
                   requested_quantity=w.requested, quantity=w.quantity)


@strawberry.type(description="`cart` is the cart after the change, null when `userErrors` says nothing changed.")
class CartPayload:
    owner: strawberry.Private[CartOwner | None] = None
    warnings: list[CartWarning] = strawberry.field(default_factory=list)
    user_errors: list[CartUserError] = strawberry.field(default_factory=list)  # type: ignore[valid-type]  # a class built by user_error_type

    @strawberry.field
    async def cart(self, info: Info) -> Cart | None:
        if self.owner is None:
            return None
        async with info.context.db.connection() as conn:
            return Cart.from_view(await read_cart(conn, self.owner), self.owner)


# ---------------------------------------------------------------- inputs


@strawberry.input
class AddCartLineInput:
    sku_id: strawberry.ID
    quantity: int = 1


@strawberry.input
class UpdateCartLineInput:
    sku_id: strawberry.ID
    quantity: int


@strawberry.input
class RemoveCartLinesInput:
    sku_ids: list[strawberry.ID]


@strawberry.input(description="`skuIds: null` selects or unselects every line.")
class SelectCartLinesInput:
    selected: bool
    sku_ids: list[strawberry.ID] | None = None


@strawberry.input
class MergeCartInput:
    device_token: str


# ---------------------------------------------------------------- resolvers


def _sku_pks(gids: Sequence[str]) -> list[int]:
    if len(gids) > cart.MAX_LINES:  # before decoding thousands of ids
        raise DomainError.of(CommonError.TOO_MANY, f"at most {cart.MAX_LINES} items at once", "skuIds")
    return input_pks("Sku", gids, "skuIds")


async def _change(info: Info, owner: CartOwner, call) -> CartPayload:
    """`call(conn)` (returns warnings) through `mutate`: the cart after the change, or userErrors."""
    return await mutate(info, CartPayload, lambda conn, _: call(conn), lambda warnings: CartPayload(
        owner=owner, warnings=[CartWarning.from_warning(w) for w in warnings]))


@strawberry.type
class CartQuery:
    @strawberry.field(permission_classes=[HasCart],
                      description="The caller's cart: a signed-in buyer's, else the X-Device-Token's.")
    async def cart(self, info: Info) -> Cart:
        owner = cart_owner(info)
        return Cart.from_view(await query(info, lambda conn: read_cart(conn, owner)), owner)


@strawberry.type
class CartMutation:
    @strawberry.mutation(permission_classes=[HasCart],
                         description="Put a SKU in the cart, or add to its line's quantity (capped with a warning).")
    async def add_cart_line(self, info: Info, input: AddCartLineInput) -> CartPayload:
        owner = cart_owner(info)
        return await _change(info, owner, lambda conn: cart.add_line(
            conn, owner, input_pk("Sku", input.sku_id, "skuId"), input.quantity))

    @strawberry.mutation(permission_classes=[HasCart], description="Set a line's quantity (capped with a warning).")
    async def update_cart_line(self, info: Info, input: UpdateCartLineInput) -> CartPayload:
        owner = cart_owner(info)
        return await _change(info, owner, lambda conn: cart.update_line(
            conn, owner, input_pk("Sku", input.sku_id, "skuId"), input.quantity))

    @strawberry.mutation(permission_classes=[HasCart], description="Items not in the cart are ignored.")
    async def remove_cart_lines(self, info: Info, input: RemoveCartLinesInput) -> CartPayload:
        owner = cart_owner(info)
        return await _change(info, owner, lambda conn: cart.remove_lines(conn, owner, _sku_pks(input.sku_ids)))

    @strawberry.mutation(permission_classes=[HasCart], description="Items not in the cart are ignored.")
    async def select_cart_lines(self, info: Info, input: SelectCartLinesInput) -> CartPayload:
        owner = cart_owner(info)
        return await _change(info, owner, lambda conn: cart.select_lines(
            conn, owner, None if input.sku_ids is None else _sku_pks(input.sku_ids), input.selected))

    @strawberry.mutation(permission_classes=[HasCart], description="Remove every line.")
    async def clear_cart(self, info: Info) -> CartPayload:
        owner = cart_owner(info)
        return await _change(info, owner, lambda conn: cart.clear(conn, owner))

    @strawberry.mutation(permission_classes=[IsBuyer],
                         description="Merge a device's anonymous cart into yours, for sign-ins that did not "
                                     "send X-Device-Token; a second merge of the same token changes nothing.")
    async def merge_cart(self, info: Info, input: MergeCartInput) -> CartPayload:
        owner = cart_owner(info)
        return await _change(info, owner, lambda conn: cart.merge_device_cart(
            conn, info.context.caller.id, input.device_token))
