"""GraphQL for orders (DOMAIN §5): placement, the buyer's orders with status tabs, the merchant
console's orders, shipping and receipt, and live order events for consoles and the back office.
Resolvers parse input, call one service in app/orders/ through `mutate`/`query` and map rows onto
types; an order's relations load through the request's DataLoaders, only when selected."""

from collections.abc import AsyncGenerator
from datetime import UTC, datetime, timedelta
from typing import TypeAlias

import asyncpg
import strawberry
from strawberry.scalars import JSON

from app.cart.errors import CartError
from app.catalog.errors import CatalogError
from app.checkout.errors import CheckoutError
from app.checkout.preview import CheckoutRequest, selected_cart_items
from app.errors import CommonError, DomainError
from app.events import Event
from app.orders import placement, reads, service
from app.orders.errors import OrderError
from app.orders.status import BUYER_LABELS, BuyerStatus, OrderStatus, buyer_status
from app.risk.errors import RiskError
from schema.aftersale import AfterSale
from schema.cart_access import cart_owner
from schema.context import Info
from schema.errors import payload_errors, user_error_type
from schema.events import live_events
from schema.fulfilment import Shipment, shipments_of_order
from schema.ids import gid, input_pk, optional_pk
from schema.mutations import mutate, query
from schema.pagination import Connection, after_id, connection_of, page_size
from schema.payments import Payment, Refund
from schema.permissions import IsAuthenticated, IsBuyer, IsStaff
from schema.pricing import CheckoutLineInput, CheckoutPricing, PaymentChannel, direct_items
from schema.scalars import Money

# placement passes on risk's refusals, the checkout's line codes, the cart's device token and the
# catalog's region check (app/catalog/warehouses `province_code`)
OrderUserError = user_error_type("Order", OrderError, RiskError, CheckoutError, CartError, CatalogError)

# the orders domain's enums are the GraphQL enums (registered here, aliased for annotations)
strawberry.enum(OrderStatus, name="OrderStatus")
strawberry.enum(BuyerStatus, name="BuyerOrderStatus", description=(
    "The buyer's tabs: TO_PAY 待支付, TO_SHIP 待发货, TO_RECEIVE 待收货, TO_REVIEW 待评价, DONE 已完成, "
    "AFTER_SALE 售后中, CANCELLED 已取消, CLOSED 已关闭."))
OrderStatusEnum: TypeAlias = OrderStatus
BuyerOrderStatus: TypeAlias = BuyerStatus


def _now() -> datetime:
    return datetime.now(UTC)


# ---------------------------------------------------------------- types


@strawberry.type(description="A line's share of one discount above item level, and who pays it.")
class OrderLineShare:
    level: str
    promotion_id: strawberry.ID | None
    coupon_id: strawberry.ID | None
    amount: Money
    funder: str
    platform_amount: Money
    merchant_amount: Money


@strawberry.type
class OrderLine:
    pk: strawberry.Private[int]
    id: strawberry.ID
    sku_id: strawberry.ID
    product_id: strawberry.ID
    title: str
    spec_label: str
    quantity: int
    price: Money
    unit_price: Money
    goods_amount: Money
    item_promotion_id: strawberry.ID | None
    item_discount: Money
    paid_amount: Money
    gift_of_promotion_id: strawberry.ID | None = strawberry.field(description="Set on a gift (a zero-price line).")

    @strawberry.field
    async def shares(self, info: Info) -> list[OrderLineShare]:
        return [OrderLineShare(level=s["level"], promotion_id=gid("Promotion", s["promotion_id"]),
                               coupon_id=gid("Coupon", s["buyer_coupon_id"]), amount=s["amount"], funder=s["funder"],
                               platform_amount=s["platform_amount"], merchant_amount=s["merchant_amount"])
                for s in await info.context.loaders.order_line_shares.load(self.pk)]

    @classmethod
    def from_row(cls, r: asyncpg.Record) -> "OrderLine":
        return cls(
            pk=r["id"], id=gid("OrderLine", r["id"]), sku_id=gid("Sku", r["sku_id"]),
            product_id=gid("Product", r["product_id"]), title=r["title"], spec_label=r["spec_label"],
            quantity=r["quantity"], price=r["price"], unit_price=r["unit_price"], goods_amount=r["goods_amount"],
            item_promotion_id=gid("Promotion", r["item_promotion_id"]), item_discount=r["item_discount"],
            paid_amount=r["paid_amount"], gift_of_promotion_id=gid("Promotion", r["gift_of_promotion_id"]))


@strawberry.type
class OrderAddress:
    receiver: str
    phone: str
    region_code: str
    detail: str


@strawberry.type(description="Who moved the order, when, from where to where and why.")
class OrderStatusChange:
    from_status: str | None
    to_status: str
    actor: str
    reason: str | None
    at: datetime


@strawberry.type(description="One merchant's part of a checkout. Money in cents: payable = goodsTotal − discount + "
                             "shipping.")
class Order:
    id: strawberry.ID
    payment_order_id: strawberry.ID
    merchant_id: strawberry.ID
    merchant_name: str
    status: OrderStatusEnum
    buyer_status: BuyerOrderStatus
    buyer_status_label: str
    payment_status: str
    logistics_status: str
    review_status: str
    after_sale_status: str
    goods_total: Money
    discount: Money
    shipping: Money
    payable: Money
    refunded_amount: Money
    payment_deadline: datetime = strawberry.field(description="Unpaid after this, the order is cancelled.")
    address: OrderAddress | None
    recharge_account: str | None
    carrier: str | None
    tracking_number: str | None
    cancel_reason: str | None
    created_at: datetime
    paid_at: datetime | None
    shipped_at: datetime | None
    received_at: datetime | None
    completed_at: datetime | None
    cancelled_at: datetime | None
    pk: strawberry.Private[int]
    payment_order_pk: strawberry.Private[int]

    @strawberry.field
    async def lines(self, info: Info) -> list[OrderLine]:
        return [OrderLine.from_row(r) for r in await info.context.loaders.order_lines.load(self.pk)]

    @strawberry.field
    async def history(self, info: Info) -> list[OrderStatusChange]:
        return [OrderStatusChange(from_status=h["from_status"], to_status=h["to_status"], actor=h["actor"],
                                  reason=h["reason"], at=h["at"])
                for h in await info.context.loaders.order_history.load(self.pk)]

    @strawberry.field(description="Payments of its checkout (one pays every order of it): for the buyer and admins; "
                                  "empty for merchant staff, whose view stops at their own order.")
    async def payments(self, info: Info) -> list[Payment]:
        principal = info.context.principal
        if principal is not None and principal.is_merchant_staff:
            return []
        return [Payment.from_row(p) for p in await info.context.loaders.checkout_payments.load(self.payment_order_pk)]

    @strawberry.field
    async def refunds(self, info: Info) -> list[Refund]:
        return [Refund.from_row(r) for r in await info.context.loaders.order_refunds.load(self.pk)]

    @strawberry.field(description="The order's after-sales, newest first.")
    async def after_sales(self, info: Info) -> list[AfterSale]:
        return [AfterSale.of(r) for r in await info.context.loaders.order_after_sales.load(self.pk)]

    @strawberry.field(description="Its parcels (拆包裹), one per warehouse and fulfilment kind, with their tracking "
                                  "timelines; the order is SHIPPED when all have left.")
    async def shipments(self, info: Info) -> list[Shipment]:
        return await shipments_of_order(info, self.pk)

    @classmethod
    def of(cls, o: asyncpg.Record) -> "Order":
        tab = buyer_status(OrderStatus(o["status"]), o["review_status"], o["aftersale_status"])
        return cls(
            pk=o["id"], payment_order_pk=o["payment_order_id"],
            id=gid("Order", o["id"]), payment_order_id=gid("PaymentOrder", o["payment_order_id"]),
            merchant_id=gid("Merchant", o["merchant_id"]), merchant_name=o["merchant_name"],
            status=OrderStatus(o["status"]), buyer_status=tab, buyer_status_label=BUYER_LABELS[tab],
            payment_status=o["payment_status"], logistics_status=o["logistics_status"],
            review_status=o["review_status"], after_sale_status=o["aftersale_status"], goods_total=o["goods_total"],
            discount=o["discount"], shipping=o["shipping"], payable=o["payable"], refunded_amount=o["refunded_amount"],
            payment_deadline=o["payment_deadline"],
            address=None if o["address"] is None else OrderAddress(**{k: o["address"][k] for k in (
                "receiver", "phone", "region_code", "detail")}),
            recharge_account=o["recharge_account"], carrier=o["carrier"], tracking_number=o["tracking_number"],
            cancel_reason=o["cancel_reason"], created_at=o["created_at"], paid_at=o["paid_at"],
            shipped_at=o["shipped_at"], received_at=o["received_at"], completed_at=o["completed_at"],
            cancelled_at=o["cancelled_at"])


@strawberry.type(description="One checkout: what the buyer pays at once for every merchant's order.")
class PaymentOrder:
    id: strawberry.ID
    payable: Money
    expires_at: datetime = strawberry.field(description="Unpaid after this, every order of it is cancelled.")
    orders: list[Order]


@strawberry.type
class OrderTabCounts:
    to_pay: int
    to_ship: int
    to_receive: int
    to_review: int
    done: int
    after_sale: int
    cancelled: int
    closed: int


# ---------------------------------------------------------------- inputs and payloads


@strawberry.input
class AddressInput:
    receiver: str
    phone: str
    region_code: str = strawberry.field(description="GB/T 2260 code, e.g. 440305 (深圳市南山区).")
    detail: str


@strawberry.input(description="Either `lines` (a direct buy) or `fromCart: true` (the selected cart lines, removed "
                              "from the cart once ordered). `idempotencyKey`: the same key again returns the first "
                              "result. `expectedPayable`: the payable the preview showed; if the price is different "
                              "now, PRICE_CHANGED comes back with the new `pricing`.")
class PlaceOrderInput:
    idempotency_key: str
    lines: list[CheckoutLineInput] | None = None
    from_cart: bool = False
    coupon_ids: list[strawberry.ID] | None = None
    payment_channel: PaymentChannel | None = None
    address: AddressInput | None = None
    address_id: strawberry.ID | None = strawberry.field(default=None, description=(
        "An address of your address book instead of `address` (not both); with neither, physical goods go to "
        "your default address."))
    recharge_account: str | None = None
    expected_payable: Money | None = None


@strawberry.type
class PlaceOrderPayload:
    payment_order: PaymentOrder | None = None
    replayed: bool = strawberry.field(default=False, description="The key had been used: this is the first result.")
    pricing: CheckoutPricing | None = strawberry.field(default=None, description="The price now, with PRICE_CHANGED.")
    user_errors: list[OrderUserError] = strawberry.field(default_factory=list)  # type: ignore[valid-type]  # a class built by user_error_type


@strawberry.input
class OrderActionInput:
    order_id: strawberry.ID


@strawberry.input
class ShipOrderInput:
    order_id: strawberry.ID
    carrier: str
    tracking_number: str


@strawberry.type
class OrderPayload:
    order: Order | None = None
    user_errors: list[OrderUserError] = strawberry.field(default_factory=list)  # type: ignore[valid-type]  # a class built by user_error_type


@strawberry.type(description="A change to an order: ORDER_CREATED, ORDER_PAID, ORDER_CANCELLED, ORDER_SHIPPED, "
                             "ORDER_RECEIVED, ORDER_COMPLETED, ORDER_CLOSED.")
class OrderEvent:
    event_id: str
    type: str
    order_id: strawberry.ID | None
    merchant_id: strawberry.ID | None
    status: str | None
    payable: Money | None
    payload: JSON
    created_at: str

    @classmethod
    def from_event(cls, ev: Event) -> "OrderEvent":
        return cls(event_id=str(ev.id), type=ev.type, order_id=gid("Order", ev.payload.get("order_id")),
                   merchant_id=gid("Merchant", ev.merchant_id), status=ev.payload.get("to"),
                   payable=ev.payload.get("payable"), payload=JSON(ev.payload), created_at=ev.created_at)


# ---------------------------------------------------------------- resolvers


async def _payment_order(info: Info, result: placement.Placement) -> PaymentOrder:
    rows = await query(info, lambda conn: reads.orders_of_payment_order(conn, result.payment_order_id))
    return PaymentOrder(id=gid("PaymentOrder", result.payment_order_id), payable=result.payable,
                        expires_at=result.expires_at, orders=[Order.of(r) for r in rows])


async def _order_payload(info: Info, order_id: int) -> OrderPayload:
    """The order as the caller sees it once the change is committed."""
    return OrderPayload(order=Order.of(await query(info, lambda conn: reads.order_for(
        conn, info.context.caller, order_id))))


@strawberry.type
class OrderQuery:
    @strawberry.field(permission_classes=[IsBuyer], description="Your orders, newest first; `tab` null = all.")
    async def my_orders(self, info: Info, tab: BuyerOrderStatus | None = None, first: int = 20,
                        after: str | None = None) -> Connection[Order]:
        async def act(conn) -> Connection[Order]:
            size = page_size(first)
            rows = await reads.buyer_orders(conn, info.context.caller.id, tab, after_id(after), size + 1)
            return connection_of(rows, size, after, Order.of)
        return await query(info, act)

    @strawberry.field(permission_classes=[IsBuyer], description="How many of your orders each tab holds.")
    async def my_order_counts(self, info: Info) -> OrderTabCounts:
        counts = await query(info, lambda conn: reads.buyer_tab_counts(conn, info.context.caller.id))
        return OrderTabCounts(**{tab.value.lower(): n for tab, n in counts.items()})

    @strawberry.field(permission_classes=[IsAuthenticated],
                      description="An order you may see: your own (buyers), your merchant's (staff), any (admins).")
    async def order(self, info: Info, id: strawberry.ID) -> Order:
        return Order.of(await query(info, lambda conn: reads.order_for(
            conn, info.context.caller, input_pk("Order", id, "id"))))

    @strawberry.field(permission_classes=[IsStaff], description="Merchant staff: your merchant's orders; admins: "
                                                                "`merchantId`'s, or every merchant's.")
    async def merchant_orders(self, info: Info, status: OrderStatusEnum | None = None,
                              merchant_id: strawberry.ID | None = None, first: int = 20,
                              after: str | None = None) -> Connection[Order]:
        async def act(conn) -> Connection[Order]:
            size = page_size(first)
            rows = await reads.merchant_orders(conn, info.context.caller,
                                               optional_pk("Merchant", merchant_id, "merchantId"),
                                               status.value if status else None, after_id(after), size + 1)
            return connection_of(rows, size, after, Order.of)
        return await query(info, act)


@strawberry.type
class OrderMutation:
    @strawberry.mutation(permission_classes=[IsBuyer], description=(
        "Place the checkout: one payment order, one order per merchant, stock reserved, coupons used. Pay it with "
        "createPayment before `paymentOrder.expiresAt`. Send the app's stable device id as `X-Device-Id`."))
    async def place_order(self, info: Info, input: PlaceOrderInput) -> PlaceOrderPayload:
        ctx = info.context

        async def act(db, who) -> placement.Placement | placement.PriceChanged:   # placement's own transactions
            request = await _placement_request(info, input)
            try:
                return await placement.place_order(db, who.id, request, _facts(info), _now(),
                                                   timedelta(seconds=ctx.settings.payment_timeout_seconds))
            except placement.PriceChanged as exc:       # nothing written; answered with the price now
                return exc

        async def present(result: placement.Placement | placement.PriceChanged) -> PlaceOrderPayload:
            if isinstance(result, placement.PriceChanged):
                payload = payload_errors(PlaceOrderPayload, result)
                payload.pricing = CheckoutPricing.from_result(result.result)
                return payload
            return PlaceOrderPayload(payment_order=await _payment_order(info, result), replayed=result.replayed)
        return await mutate(info, PlaceOrderPayload, act, present, transaction=False)

    @strawberry.mutation(permission_classes=[IsBuyer], description="Cancel an unpaid order (with every order of its "
                                                                   "checkout): stock, coupons and budgets come back.")
    async def cancel_order(self, info: Info, input: OrderActionInput) -> OrderPayload:
        return await _order_change(info, input.order_id,
                                   lambda conn, who, pk: service.cancel_by_buyer(conn, who, pk, _now()))

    @strawberry.mutation(permission_classes=[IsBuyer], description="Confirm you received a shipped order.")
    async def confirm_receipt(self, info: Info, input: OrderActionInput) -> OrderPayload:
        return await _order_change(info, input.order_id,
                                   lambda conn, who, pk: service.confirm_receipt(conn, who.id, pk, _now()))

    @strawberry.mutation(permission_classes=[IsStaff], description="Ship a paid order of your merchant.")
    async def ship_order(self, info: Info, input: ShipOrderInput) -> OrderPayload:
        return await _order_change(info, input.order_id, lambda conn, who, pk: service.ship(
            conn, who, pk, input.carrier, input.tracking_number, _now()))


async def _order_change(info: Info, order_gid: str, act) -> OrderPayload:
    """One change to an order, answered with the order as the caller now sees it."""
    async def change(conn, who) -> int:
        pk = input_pk("Order", order_gid, "orderId")
        await act(conn, who, pk)
        return pk
    return await mutate(info, OrderPayload, change, lambda pk: _order_payload(info, pk))


DEVICE_HEADER = "x-device-id"


def _facts(info: Info) -> placement.PlacementFacts:
    """The caller's IP and device: apps send a stable `X-Device-Id` (docs/API.md), the id risk's
    DEVICE blacklist matches."""
    request = info.context.request
    device = request.headers.get(DEVICE_HEADER) if request is not None else None
    return placement.PlacementFacts(ip=info.context.client_ip, device=device)


async def _placement_request(info: Info, i: PlaceOrderInput) -> placement.PlacementRequest:
    if i.from_cart == (i.lines is not None):
        raise DomainError.of(CommonError.INVALID_VALUE, "give either lines or fromCart: true", "lines")
    region = i.address.region_code if i.address else None
    if i.lines is not None:
        items = direct_items(i.lines)
    else:
        async with info.context.db.connection() as conn:
            items = await selected_cart_items(conn, cart_owner(info))     # none: a replay, or NO_LINES
    picked = None if i.coupon_ids is None else tuple(input_pk("Coupon", c, "couponIds", str(n))
                                                       for n, c in enumerate(i.coupon_ids))
    return placement.PlacementRequest(
        checkout=CheckoutRequest(items=items, picked_coupon_ids=picked, region_code=region,
                                 payment_channel=i.payment_channel.value if i.payment_channel else None),
        idempotency_key=i.idempotency_key, expected_payable=i.expected_payable,
        address=None if i.address is None else placement.Address(i.address.receiver, i.address.phone,
                                                                i.address.region_code, i.address.detail),
        address_id=optional_pk("Address", i.address_id, "addressId"),
        recharge_account=i.recharge_account, from_cart=i.from_cart)


@strawberry.type
class OrderSubscription:
    @strawberry.subscription(permission_classes=[IsStaff], description=(
        "Live order events of your merchant (merchant staff) or of every merchant (admins): new orders, payments "
        "and every status change. Delivery is at most once: refetch the list when (re)subscribing."))
    async def merchant_order_events(self, info: Info) -> AsyncGenerator[OrderEvent, None]:
        async for ev in live_events(info, "order"):
            yield OrderEvent.from_event(ev)
