"""Every after-sale type end to end over GraphQL, through the real refund path (the sandbox
provider over HTTP, its signed callback, a burst arq worker): partial quantities over several
cases of one line refund exactly the paid amount, shipping only with the whole order before it
ships, escalation, the window, ownership, virtual goods refused."""

import asyncio
import uuid
from datetime import UTC, datetime

from app.aftersale.errors import AfterSaleError
from app.auth.principal import Principal
from app.auth.sessions import open_session
from app.errors import CommonError
from app.events import Event
from app.fulfilment import shipments
from tests.aftersale.helpers import paid_order, run_jobs, settle, ship_and_receive
from tests.payments.helpers import gid, new_buyer
from workers.aftersale import REACTIONS, complete_exchange

FIELDS = """afterSale { id status kind goodsAmount shippingAmount rejectionReason closeReason
  lines { orderLineId quantity amount } } userErrors { field code message }"""
REQUEST = f"""mutation($i: RequestAfterSaleInput!) {{ requestAfterSale(input: $i) {{ {FIELDS} }} }}"""
APPROVE = f"""mutation($i: AfterSaleActionInput!) {{ approveAfterSale(input: $i) {{ {FIELDS} }} }}"""
REJECT = f"""mutation($i: RejectAfterSaleInput!) {{ rejectAfterSale(input: $i) {{ {FIELDS} }} }}"""
RETURN = f"""mutation($i: SubmitReturnShipmentInput!) {{ submitReturnShipment(input: $i) {{ {FIELDS} }} }}"""
INSPECT = f"""mutation($i: InspectReturnInput!) {{ inspectReturn(input: $i) {{ {FIELDS} }} }}"""
ESCALATE = f"""mutation($i: AfterSaleActionInput!) {{ escalateAfterSale(input: $i) {{ {FIELDS} }} }}"""
DECIDE = f"""mutation($i: DecideEscalationInput!) {{ decideEscalation(input: $i) {{ {FIELDS} }} }}"""
CONFIRM = f"""mutation($i: AfterSaleActionInput!) {{ confirmExchangeReceipt(input: $i) {{ {FIELDS} }} }}"""
CANCEL = f"""mutation($i: AfterSaleActionInput!) {{ cancelAfterSale(input: $i) {{ {FIELDS} }} }}"""


async def staff_token(db, settings, merchant_id: int | None) -> str:
    """Merchant staff of `merchant_id`, or an admin (None)."""
    principal = (Principal(kind="staff", id=900_000, staff_kind="ADMIN") if merchant_id is None else
                 Principal(kind="staff", id=900_000 + merchant_id, staff_kind="MERCHANT", merchant_id=merchant_id,
                           merchant_role="OWNER"))
    async with db.transaction() as conn:
        return (await open_session(conn, settings, principal)).access_token


def _request(order, line: int, quantity: int, kind: str = "REFUND_ONLY", reason: str = "NO_LONGER_NEEDED") -> dict:
    return {"i": {"orderId": gid("Order", order.id), "kind": kind, "reason": reason,
                  "lines": [{"orderLineId": gid("OrderLine", order.lines[line]), "quantity": quantity}]}}


async def _ok(api, query, variables, token, field):
    out = (await api.ok(query, variables, token=token))[field]
    assert out["userErrors"] == [], out["userErrors"]
    return out["afterSale"]


def _codes(out) -> list[str]:
    return [e["code"] for e in out["userErrors"]]


def _pk(case) -> int:
    from app.ids import decode_id
    return decode_id("AfterSale", case["id"])


async def test_refund_only_before_shipment_in_three_steps_refunds_exactly_the_payable(api, http, db, settings):
    buyer = await new_buyer(db, settings)
    # line 0: 3 units paid 1000 (334, 333, 333); line 1: 1 unit paid 80; shipping 500
    order = await paid_order(http, db, settings, buyer, [(3, 1000), (1, 80)], shipping=500)

    first = await _ok(api, REQUEST, _request(order, 0, 1), buyer.token, "requestAfterSale")
    assert (first["status"], first["goodsAmount"], first["lines"][0]["amount"]) == ("APPROVED", 334, 334)
    busy = (await api.ok(REQUEST, _request(order, 0, 1), token=buyer.token))["requestAfterSale"]
    assert _codes(busy) == [AfterSaleError.LINE_HAS_OPEN_AFTERSALE]
    await settle(settings, db, _pk(first))
    assert await db.fetchval("SELECT quantity FROM stock_reservations WHERE order_line_id = $1 AND status = 'RESERVED'",
                             order.lines[0]) == 2
    row = await db.fetchrow("SELECT status, payment_status, aftersale_status, refunded_amount FROM orders WHERE id = $1",
                            order.id)
    assert dict(row) == {"status": "PAID", "payment_status": "PARTIALLY_REFUNDED", "aftersale_status": "DONE",
                         "refunded_amount": 334}

    too_many = (await api.ok(REQUEST, _request(order, 0, 3), token=buyer.token))["requestAfterSale"]
    assert _codes(too_many) == [AfterSaleError.NOT_ENOUGH_UNITS]
    second = await _ok(api, REQUEST, _request(order, 0, 2), buyer.token, "requestAfterSale")
    assert (second["goodsAmount"], second["shippingAmount"]) == (666, 0)
    await settle(settings, db, _pk(second))

    last = await _ok(api, REQUEST, _request(order, 1, 1), buyer.token, "requestAfterSale")
    await settle(settings, db, _pk(last))
    last_row = await db.fetchrow("SELECT goods_amount, shipping_amount FROM after_sales WHERE id = $1", _pk(last))
    assert tuple(last_row) == (80, 500)       # the whole order refunded before shipping: shipping goes back
    refunds = [r["amount"] for r in await db.fetch(
        "SELECT amount FROM refunds WHERE order_id = $1 AND status = 'SUCCEEDED' ORDER BY id", order.id)]
    assert refunds == [334, 666, 580] and sum(refunds) == order.payable == 1580
    row = await db.fetchrow("SELECT status, payment_status, aftersale_status, refunded_amount FROM orders WHERE id = $1",
                            order.id)
    assert dict(row) == {"status": "CLOSED", "payment_status": "REFUNDED", "aftersale_status": "DONE",
                         "refunded_amount": 1580}
    assert await db.fetchval("SELECT count(*) FROM stock_reservations r JOIN order_lines l ON l.id = r.order_line_id"
                             " WHERE l.order_id = $1 AND r.status = 'RESERVED'", order.id) == 0
    events = [r["event_type"] for r in await db.fetch(
        "SELECT event_type FROM outbox WHERE topic = 'aftersale' AND (payload->>'after_sale_id')::bigint = $1"
        " ORDER BY id", _pk(first))]
    assert events == ["AFTER_SALE_REQUESTED", "AFTER_SALE_APPROVED", "AFTER_SALE_REFUNDING", "AFTER_SALE_REFUNDED"]
    assert await db.fetchval("SELECT count(*) FROM buyer_notifications WHERE order_id = $1"
                             " AND template = 'AFTER_SALE_REFUNDED'", order.id) == 3


async def test_shipping_stays_when_the_rest_is_refunded_after_receipt(api, http, db, settings):
    buyer = await new_buyer(db, settings)
    order = await paid_order(http, db, settings, buyer, [(2, 200)], shipping=300)
    merchant = await staff_token(db, settings, order.merchant)
    first = await _ok(api, REQUEST, _request(order, 0, 1), buyer.token, "requestAfterSale")
    await settle(settings, db, _pk(first))
    await ship_and_receive(db, order.id)
    rest = await _ok(api, REQUEST, _request(order, 0, 1, "RETURN_REFUND", "QUALITY_PROBLEM"), buyer.token,
                     "requestAfterSale")
    assert rest["status"] == "REQUESTED"
    await _ok(api, APPROVE, {"i": {"afterSaleId": rest["id"]}}, merchant, "approveAfterSale")
    await _ok(api, RETURN, {"i": {"afterSaleId": rest["id"], "carrier": "SF", "trackingNumber": "SF123"}},
              buyer.token, "submitReturnShipment")
    await _ok(api, INSPECT, {"i": {"afterSaleId": rest["id"], "accept": True}}, merchant, "inspectReturn")
    await settle(settings, db, _pk(rest))
    assert [r["amount"] for r in await db.fetch("SELECT amount FROM refunds WHERE order_id = $1 ORDER BY id",
                                                order.id)] == [100, 100]
    row = await db.fetchrow("SELECT status, payment_status, refunded_amount FROM orders WHERE id = $1", order.id)
    assert dict(row) == {"status": "RECEIVED", "payment_status": "PARTIALLY_REFUNDED", "refunded_amount": 200}


async def test_exchange_moves_no_money(api, http, db, settings):
    buyer = await new_buyer(db, settings)
    order = await paid_order(http, db, settings, buyer, [(1, 100)])
    await ship_and_receive(db, order.id)
    merchant = await staff_token(db, settings, order.merchant)
    case = await _ok(api, REQUEST, _request(order, 0, 1, "EXCHANGE", "WRONG_SIZE"), buyer.token, "requestAfterSale")
    before_return = (await api.ok(INSPECT, {"i": {"afterSaleId": case["id"], "accept": True}},
                                  token=merchant))["inspectReturn"]
    assert _codes(before_return) == [CommonError.INVALID_TRANSITION]
    await _ok(api, APPROVE, {"i": {"afterSaleId": case["id"]}}, merchant, "approveAfterSale")
    await _ok(api, RETURN, {"i": {"afterSaleId": case["id"], "carrier": "SF", "trackingNumber": "SF9"}},
              buyer.token, "submitReturnShipment")
    reship = await _ok(api, INSPECT, {"i": {"afterSaleId": case["id"], "accept": True}}, merchant, "inspectReturn")
    assert reship["status"] == "RESHIPPING"
    assert await db.fetchval("SELECT buyer_status FROM (SELECT aftersale_status AS buyer_status FROM orders"
                             " WHERE id = $1) t", order.id) == "IN_PROGRESS"
    reship = await db.fetchrow("SELECT * FROM shipments WHERE after_sale_id = $1", _pk(case))
    assert (reship["order_id"], reship["status"], reship["kind"]) == (order.id, "PENDING", "MERCHANT")
    assert await db.fetchval("SELECT quantity FROM shipment_lines WHERE shipment_id = $1", reship["id"]) == 1
    assert await db.fetchval("SELECT count(*) FROM stock_reservations WHERE order_line_id = $1 AND status = 'RESERVED'",
                             order.lines[0]) == 1                 # the reship's unit is held
    done = await _ok(api, CONFIRM, {"i": {"afterSaleId": case["id"]}}, buyer.token, "confirmExchangeReceipt")
    assert done["status"] == "COMPLETED"
    assert await db.fetchval("SELECT count(*) FROM refunds WHERE order_id = $1", order.id) == 0
    assert await db.fetchval("SELECT aftersale_status FROM orders WHERE id = $1", order.id) == "DONE"


async def test_rejection_escalated_and_decided_by_the_platform(api, http, db, settings):
    buyer = await new_buyer(db, settings)
    order = await paid_order(http, db, settings, buyer, [(2, 150)])
    await ship_and_receive(db, order.id)
    merchant, admin = await staff_token(db, settings, order.merchant), await staff_token(db, settings, None)
    case = await _ok(api, REQUEST, _request(order, 0, 2, "REFUND_ONLY", "NOT_AS_DESCRIBED"), buyer.token,
                     "requestAfterSale")
    assert case["status"] == "REQUESTED"             # after receipt a refund-only is reviewed
    no_reason = (await api.ok(REJECT, {"i": {"afterSaleId": case["id"], "reason": " "}}, token=merchant))
    assert _codes(no_reason["rejectAfterSale"]) == [AfterSaleError.REASON_REQUIRED]
    rejected = await _ok(api, REJECT, {"i": {"afterSaleId": case["id"], "reason": "as described"}}, merchant,
                         "rejectAfterSale")
    assert (rejected["status"], rejected["rejectionReason"]) == ("REJECTED", "as described")
    assert await db.fetchval("SELECT aftersale_status FROM orders WHERE id = $1", order.id) == "IN_PROGRESS"
    await _ok(api, ESCALATE, {"i": {"afterSaleId": case["id"]}}, buyer.token, "escalateAfterSale")
    by_merchant = await api("""mutation($i: DecideEscalationInput!) { decideEscalation(input: $i) { afterSale { id } } }""",
                            {"i": {"afterSaleId": case["id"], "forBuyer": True, "reason": "x"}}, token=merchant)
    assert by_merchant["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    decided = await _ok(api, DECIDE, {"i": {"afterSaleId": case["id"], "forBuyer": True, "reason": "photos show it"}},
                        admin, "decideEscalation")
    assert decided["status"] == "REFUNDING"
    await settle(settings, db, _pk(case))
    assert await db.fetchval("SELECT refunded_amount FROM orders WHERE id = $1", order.id) == 150

    other = await paid_order(http, db, settings, buyer, [(1, 100)])
    await ship_and_receive(db, other.id)
    against = await _ok(api, REQUEST, _request(other, 0, 1, "RETURN_REFUND", "DAMAGED"), buyer.token,
                        "requestAfterSale")
    await _ok(api, APPROVE, {"i": {"afterSaleId": against["id"]}}, admin, "approveAfterSale")
    await _ok(api, RETURN, {"i": {"afterSaleId": against["id"], "carrier": "YTO", "trackingNumber": "Y1"}},
              buyer.token, "submitReturnShipment")
    refused = await _ok(api, INSPECT, {"i": {"afterSaleId": against["id"], "accept": False, "reason": "used"}},
                        admin, "inspectReturn")
    assert refused["status"] == "REJECTED"
    await _ok(api, ESCALATE, {"i": {"afterSaleId": against["id"]}}, buyer.token, "escalateAfterSale")
    closed = await _ok(api, DECIDE, {"i": {"afterSaleId": against["id"], "forBuyer": False, "reason": "worn"}},
                       admin, "decideEscalation")
    assert closed["status"] == "CLOSED" and "worn" in closed["closeReason"]
    assert await db.fetchval("SELECT aftersale_status FROM orders WHERE id = $1", other.id) == "DONE"


async def test_window_virtual_goods_and_cancel(api, http, db, settings):
    buyer = await new_buyer(db, settings)
    old = await paid_order(http, db, settings, buyer, [(1, 100)])
    await ship_and_receive(db, old.id, received_days_ago=settings.aftersale_window_days + 0.1)
    late = (await api.ok(REQUEST, _request(old, 0, 1, "RETURN_REFUND", "DAMAGED"), token=buyer.token))
    assert _codes(late["requestAfterSale"]) == [AfterSaleError.WINDOW_CLOSED]

    virtual = await paid_order(http, db, settings, buyer, [(1, 100)], fulfillment="VIRTUAL")
    refused = (await api.ok(REQUEST, _request(virtual, 0, 1), token=buyer.token))["requestAfterSale"]
    assert _codes(refused) == [AfterSaleError.VIRTUAL_NO_AFTERSALE]

    recent = await paid_order(http, db, settings, buyer, [(1, 100)])
    unshipped_return = (await api.ok(REQUEST, _request(recent, 0, 1, "RETURN_REFUND", "DAMAGED"), token=buyer.token))
    assert _codes(unshipped_return["requestAfterSale"]) == [AfterSaleError.ORDER_NOT_ELIGIBLE]
    await ship_and_receive(db, recent.id, received_days_ago=1)
    case = await _ok(api, REQUEST, _request(recent, 0, 1, "RETURN_REFUND", "DAMAGED"), buyer.token,
                     "requestAfterSale")
    tab = await api.ok("{ myOrders(tab: AFTER_SALE) { edges { node { id buyerStatus } } } }", token=buyer.token)
    assert [e["node"]["id"] for e in tab["myOrders"]["edges"]] == [gid("Order", recent.id)]
    cancelled = await _ok(api, CANCEL, {"i": {"afterSaleId": case["id"]}}, buyer.token, "cancelAfterSale")
    assert cancelled["status"] == "CANCELLED"
    tab = await api.ok("{ myOrders(tab: AFTER_SALE) { edges { node { id } } } }", token=buyer.token)
    assert tab["myOrders"]["edges"] == []


async def test_ownership(api, http, db, settings):
    buyer, stranger = await new_buyer(db, settings), await new_buyer(db, settings)
    order = await paid_order(http, db, settings, buyer, [(1, 100)])
    await ship_and_receive(db, order.id)
    someone_elses = (await api.ok(REQUEST, _request(order, 0, 1, "RETURN_REFUND", "DAMAGED"), token=stranger.token))
    assert _codes(someone_elses["requestAfterSale"]) == [CommonError.NOT_FOUND]
    case = await _ok(api, REQUEST, _request(order, 0, 1, "RETURN_REFUND", "DAMAGED"), buyer.token, "requestAfterSale")
    other_shop = await paid_order(http, db, settings, stranger, [(1, 100)])
    other_merchant = await staff_token(db, settings, other_shop.merchant)
    own_merchant = await staff_token(db, settings, order.merchant)

    assert _codes((await api.ok(CANCEL, {"i": {"afterSaleId": case["id"]}}, token=stranger.token))
                  ["cancelAfterSale"]) == [CommonError.NOT_FOUND]
    assert _codes((await api.ok(APPROVE, {"i": {"afterSaleId": case["id"]}}, token=other_merchant))
                  ["approveAfterSale"]) == [CommonError.NOT_FOUND]
    read = await api("query($id: ID!) { afterSale(id: $id) { id } }", {"id": case["id"]}, token=stranger.token)
    assert read["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    mine = await api.ok("{ afterSales { edges { node { id } } } }", token=buyer.token)
    assert [e["node"]["id"] for e in mine["afterSales"]["edges"]] == [case["id"]]
    assert (await api.ok("{ afterSales { edges { node { id } } } }", token=stranger.token))["afterSales"]["edges"] == []
    queue = "{ afterSaleQueue(status: REQUESTED) { edges { node { id } } } }"
    assert [e["node"]["id"] for e in (await api.ok(queue, token=own_merchant))["afterSaleQueue"]["edges"]] == \
        [case["id"]]
    assert (await api.ok(queue, token=other_merchant))["afterSaleQueue"]["edges"] == []
    on_order = await api.ok("query($id: ID!) { order(id: $id) { afterSales { id status } } }",
                            {"id": gid("Order", order.id)}, token=buyer.token)
    assert on_order["order"]["afterSales"] == [{"id": case["id"], "status": "REQUESTED"}]


async def test_concurrent_requests_on_one_line_never_over_refund(api, http, db, settings):
    buyer = await new_buyer(db, settings)
    order = await paid_order(http, db, settings, buyer, [(3, 1000)])
    outs = await asyncio.gather(*(api.ok(REQUEST, _request(order, 0, 2), token=buyer.token) for _ in range(6)))
    granted = [o["requestAfterSale"]["afterSale"] for o in outs if not o["requestAfterSale"]["userErrors"]]
    assert len(granted) == 1
    assert {c for o in outs for c in _codes(o["requestAfterSale"])} == {AfterSaleError.LINE_HAS_OPEN_AFTERSALE}
    await settle(settings, db, _pk(granted[0]))
    outs = await asyncio.gather(*(api.ok(REQUEST, _request(order, 0, 1), token=buyer.token) for _ in range(6)))
    granted = [o["requestAfterSale"]["afterSale"] for o in outs if not o["requestAfterSale"]["userErrors"]]
    assert len(granted) == 1
    await settle(settings, db, _pk(granted[0]))
    await run_jobs(settings, db)
    assert await db.fetchval("SELECT sum(amount) FROM refunds WHERE order_id = $1", order.id) == 1000
    exhausted = (await api.ok(REQUEST, _request(order, 0, 1), token=buyer.token))["requestAfterSale"]
    assert _codes(exhausted) == [AfterSaleError.ORDER_NOT_ELIGIBLE]     # fully refunded: the order is CLOSED


async def test_an_exchange_completes_when_its_reship_is_signed(api, http, db, settings):
    buyer = await new_buyer(db, settings)
    order = await paid_order(http, db, settings, buyer, [(2, 200)])
    await ship_and_receive(db, order.id)
    admin = await staff_token(db, settings, None)
    case = await _ok(api, REQUEST, _request(order, 0, 2, "EXCHANGE", "QUALITY_PROBLEM"), buyer.token,
                     "requestAfterSale")
    await _ok(api, APPROVE, {"i": {"afterSaleId": case["id"]}}, admin, "approveAfterSale")
    await _ok(api, RETURN, {"i": {"afterSaleId": case["id"], "carrier": "SF", "trackingNumber": "SF7"}},
              buyer.token, "submitReturnShipment")
    await _ok(api, INSPECT, {"i": {"afterSaleId": case["id"], "accept": True}}, admin, "inspectReturn")
    reship = await db.fetchval("SELECT id FROM shipments WHERE after_sale_id = $1", _pk(case))
    async with db.transaction() as conn:      # the console ships the reship, the carrier signs for it
        await shipments.ship(conn, [reship], "SF", "SF8", datetime.now(UTC), "staff:1")
        await shipments.sign(conn, [reship], datetime.now(UTC), "carrier:sandbox")
    signed = await db.fetchrow("SELECT * FROM outbox WHERE event_type = 'SHIPMENT_SIGNED'"
                               " AND (payload->>'shipment_id')::bigint = $1", reship)
    ev = Event(id=signed["id"], topic="fulfilment", type="SHIPMENT_SIGNED", payload=signed["payload"],
               merchant_id=signed["merchant_id"], created_at="")
    calls = REACTIONS["SHIPMENT_SIGNED"]([ev])
    assert calls == [("complete_exchange", (_pk(case),), f"after-sale-exchange:{_pk(case)}")]
    ctx = {"db": db}
    assert await complete_exchange(ctx, _pk(case)) is True
    assert await complete_exchange(ctx, _pk(case)) is False          # a replayed event changes nothing
    assert await db.fetchval("SELECT status FROM after_sales WHERE id = $1", _pk(case)) == "COMPLETED"
    assert await db.fetchval("SELECT count(*) FROM refunds WHERE order_id = $1", order.id) == 0


async def test_evidence_is_the_buyers_own_and_the_reviewer_may_read_it(api, http, db, settings):
    buyer, stranger = await new_buyer(db, settings), await new_buyer(db, settings)
    order = await paid_order(http, db, settings, buyer, [(1, 100)])
    await ship_and_receive(db, order.id)

    async def upload(owner: str, purpose: str = "AFTER_SALE_EVIDENCE") -> int:
        return await db.fetchval(
            "INSERT INTO uploads (owner, purpose, content_type, size_bytes, sha256, storage_key)"
            " VALUES ($1, $2, 'image/png', 10, 'x', $3) RETURNING id", owner, purpose, f"test/{uuid.uuid4().hex}")
    mine, theirs = await upload(f"buyer:{buyer.id}"), await upload(f"buyer:{stranger.id}")
    review_image = await upload(f"buyer:{buyer.id}", "REVIEW_IMAGE")
    variables = _request(order, 0, 1, "RETURN_REFUND", "DAMAGED")
    variables["i"]["evidence"] = [gid("Upload", mine), gid("Upload", theirs), gid("Upload", review_image)]
    refused = (await api.ok(REQUEST, variables, token=buyer.token))["requestAfterSale"]
    assert [(e["code"], e["field"]) for e in refused["userErrors"]] == [
        ("NOT_FOUND", ["input", "evidence", "1"]), ("WRONG_PURPOSE", ["input", "evidence", "2"])]
    variables["i"]["evidence"] = [gid("Upload", mine)]
    variables["i"]["description"] = "the screen is cracked"
    case = await _ok(api, REQUEST, variables, buyer.token, "requestAfterSale")
    read = await api.ok("query($id: ID!) { afterSale(id: $id) { evidence description } }", {"id": case["id"]},
                        token=buyer.token)
    assert read["afterSale"] == {"evidence": [gid("Upload", mine)], "description": "the screen is cracked"}
    assert await db.fetchval("SELECT grantee FROM upload_grants WHERE upload_id = $1", mine) == \
        f"merchant:{order.merchant}"


async def test_a_line_whose_parcel_left_stays_out_of_a_refund_before_shipment(api, http, db, settings):
    buyer = await new_buyer(db, settings)
    order = await paid_order(http, db, settings, buyer, [(2, 1500), (1, 700)], shipping=400, split=True)
    gone = await db.fetchval("SELECT s.id FROM shipments s JOIN shipment_lines l ON l.shipment_id = s.id"
                             " WHERE l.order_line_id = $1", order.lines[1])
    async with db.transaction() as conn:      # the second parcel left; the order waits for the first
        await shipments.ship(conn, [gone], "SF", "SF-GONE", datetime.now(UTC), "staff:1")
    assert await db.fetchval("SELECT status FROM orders WHERE id = $1", order.id) == "PAID"
    variables = {"i": {"orderId": gid("Order", order.id), "kind": "REFUND_ONLY", "reason": "NO_LONGER_NEEDED",
                       "lines": [{"orderLineId": gid("OrderLine", order.lines[0]), "quantity": 2},
                                 {"orderLineId": gid("OrderLine", order.lines[1]), "quantity": 1}]}}
    case = await _ok(api, REQUEST, variables, buyer.token, "requestAfterSale")
    assert case["goodsAmount"] == 2200
    await settle(settings, db, _pk(case))
    row = await db.fetchrow("SELECT goods_amount, shipping_amount FROM after_sales WHERE id = $1", _pk(case))
    assert tuple(row) == (1500, 0)            # only the withdrawn line; the order shipped, so no shipping
    assert [r["order_line_id"] for r in await db.fetch(
        "SELECT order_line_id FROM after_sale_lines WHERE after_sale_id = $1", _pk(case))] == [order.lines[0]]
    assert await db.fetchval("SELECT sum(amount) FROM refunds WHERE order_id = $1", order.id) == 1500
    assert await db.fetchval("SELECT status FROM orders WHERE id = $1", order.id) == "SHIPPED"


async def test_refunds_of_several_lines_before_shipment_run_at_once_without_deadlock(api, http, db, settings):
    """One refund-only case per line of one order, their withdrawals run by one burst worker at the
    same moment: every lock path takes the payment order first, so none deadlocks (the worker's
    run_check fails on any failed job)."""
    buyer = await new_buyer(db, settings)
    order = await paid_order(http, db, settings, buyer, [(1, 1000), (1, 1000), (1, 1000), (1, 1000)])
    cases = [await _ok(api, REQUEST, _request(order, n, 1), buyer.token, "requestAfterSale") for n in range(4)]
    await run_jobs(settings, db)
    for case in cases:
        await settle(settings, db, _pk(case))
    assert await db.fetchval("SELECT refunded_amount FROM orders WHERE id = $1", order.id) == 4000
