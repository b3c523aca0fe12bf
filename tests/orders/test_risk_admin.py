"""The back office's risk tools: operators blacklist a buyer, a phone or an address and placement
refuses it at once; removing the entry lets the buyer order again; every decision is readable
with its rule; nobody but admins may touch any of it."""

from app.ids import encode_id
from tests.cart.helpers import new_buyer, staff_token
from tests.checkout.helpers import lines_input, make_market
from tests.orders.helpers import ADDRESS, PLACE, place_input

ADD = """mutation($i: AddToBlacklistInput!) { addToBlacklist(input: $i) {
  entry { kind value reason } userErrors { field code } } }"""
REMOVE = """mutation($i: BlacklistEntryInput!) { removeFromBlacklist(input: $i) { removed userErrors { code } } }"""
DECISIONS = """query($b: ID) { riskDecisions(buyerId: $b, first: 10) { edges { node { stage decision rule buyerId } } } }"""
BLACKLIST = "{ blacklist(first: 100) { edges { node { kind value reason } } } }"
BLACKLIST_PAGE = """query($k: BlacklistKind, $after: String) { blacklist(kind: $k, first: 2, after: $after) {
  edges { cursor node { kind value } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }"""


async def placed(gql, buyer, market, **fields) -> list[str]:
    payload = (await gql.ok(PLACE, {"i": place_input(lines_input((market.sku["a2"], 1)), **fields)}, buyer))
    return [e["code"] for e in payload["placeOrder"]["userErrors"]]


async def test_operators_blacklist_and_placement_obeys(gql, db, settings, tokens):
    market = await make_market(db)
    admin = tokens["admin"]
    buyer_id, buyer = await new_buyer(db, settings)
    buyer_gid = encode_id("Buyer", buyer_id)
    assert await placed(gql, buyer, market) == []

    entry = {"kind": "BUYER", "value": buyer_gid}
    added = (await gql.ok(ADD, {"i": {"entry": entry, "reason": "chargebacks"}}, admin))["addToBlacklist"]
    assert added["userErrors"] == [] and added["entry"] == {"kind": "BUYER", "value": str(buyer_id),
                                                           "reason": "chargebacks"}
    assert await placed(gql, buyer, market) == ["ORDER_REFUSED"]
    log = (await gql.ok(DECISIONS, {"b": buyer_gid}, admin))["riskDecisions"]["edges"]
    assert [(e["node"]["decision"], e["node"]["rule"]) for e in log][:2] == [("DENY", "BLACKLIST_BUYER"),
                                                                             ("ALLOW", "PASS")]
    removed = (await gql.ok(REMOVE, {"i": entry}, admin))["removeFromBlacklist"]
    assert removed == {"removed": True, "userErrors": []}
    assert await placed(gql, buyer, market) == []
    assert (await gql.ok(REMOVE, {"i": entry}, admin))["removeFromBlacklist"]["removed"] is False

    street = {"kind": "ADDRESS", "regionCode": ADDRESS["regionCode"], "detail": ADDRESS["detail"]}
    await gql.ok(ADD, {"i": {"entry": street, "reason": "fraud ring"}}, admin)
    other_id, other = await new_buyer(db, settings)
    # the same street typed with other spacing is the same address
    assert await placed(gql, other, market, address={**ADDRESS, "detail": ADDRESS["detail"].replace(" ", "")}) == \
        ["ORDER_REFUSED"]
    assert any(e["node"]["kind"] == "ADDRESS" for e in (await gql.ok(BLACKLIST, None, admin))["blacklist"]["edges"])


async def test_bad_entries_and_non_admins_are_refused(gql, db, settings, tokens):
    for entry, code in [({"kind": "PHONE", "value": "call me"}, "INVALID_VALUE"),
                        ({"kind": "IP", "value": "300.1.1.1"}, "INVALID_VALUE"),
                        ({"kind": "BUYER", "value": "garbage"}, "INVALID_ID"),
                        ({"kind": "BUYER", "value": encode_id("Buyer", 987654321)}, "NOT_FOUND"),
                        ({"kind": "ADDRESS", "regionCode": "440305"}, "INVALID_ADDRESS")]:
        payload = (await gql.ok(ADD, {"i": {"entry": entry, "reason": "x"}}, tokens["admin"]))["addToBlacklist"]
        assert [e["code"] for e in payload["userErrors"]] == [code], (entry, payload)
    no_reason = (await gql.ok(ADD, {"i": {"entry": {"kind": "IP", "value": "10.0.0.1"}, "reason": " "}},
                              tokens["admin"]))["addToBlacklist"]
    assert [e["code"] for e in no_reason["userErrors"]] == ["REASON_REQUIRED"]
    market = await make_market(db)
    for token in (tokens["buyer"], await staff_token(db, settings, market.a)):
        for query, variables in ((ADD, {"i": {"entry": {"kind": "IP", "value": "10.0.0.1"}, "reason": "x"}}),
                                 (BLACKLIST, None), (DECISIONS, {"b": None})):
            body = await gql(query, variables, token)
            assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_a_blacklisted_device_is_refused_at_placement(gql, db, settings, tokens):
    market = await make_market(db)
    buyer_id, buyer = await new_buyer(db, settings)
    device = {"x-device-id": "Phone-7f3a9c21"}
    address = {**ADDRESS, "detail": "设备测试路 3 号"}
    added = (await gql.ok(ADD, {"i": {"entry": {"kind": "DEVICE", "value": "phone-7f3a9c21"}, "reason": "fraud ring"}},
                          tokens["admin"]))["addToBlacklist"]
    assert added["userErrors"] == []

    async def codes(headers: dict) -> list[str]:
        body = await gql(PLACE, {"i": place_input(lines_input((market.sku["a2"], 1)), address=address)}, buyer,
                         headers=headers)
        return [e["code"] for e in body["data"]["placeOrder"]["userErrors"]]
    assert await codes(device) == ["ORDER_REFUSED"]
    assert await db.fetchval("SELECT rule FROM risk_decisions WHERE buyer_id = $1 ORDER BY id DESC LIMIT 1",
                             buyer_id) == "BLACKLIST_DEVICE"
    assert await codes({"x-device-id": "another-device-1"}) == []


async def test_full_width_digits_do_not_get_past_the_address_blacklist(gql, db, settings, tokens):
    market = await make_market(db)
    buyer_id, buyer = await new_buyer(db, settings)
    street = {"kind": "ADDRESS", "regionCode": ADDRESS["regionCode"], "detail": "黑名单路 17 号 B 座"}
    added = (await gql.ok(ADD, {"i": {"entry": street, "reason": "fraud"}}, tokens["admin"]))["addToBlacklist"]
    assert added["userErrors"] == []
    for typed in ("黑名单路１７号Ｂ座", "黑名单路 17 号 b 座", "黑名单路\u300017号B座"):
        assert await placed(gql, buyer, market, address={**ADDRESS, "detail": typed}) == ["ORDER_REFUSED"], typed
        assert await db.fetchval("SELECT rule FROM risk_decisions WHERE buyer_id = $1 ORDER BY id DESC LIMIT 1",
                                 buyer_id) == "BLACKLIST_ADDRESS"
    wide = {**street, "detail": "白名单路１８号"}
    assert (await gql.ok(ADD, {"i": {"entry": wide, "reason": "fraud"}}, tokens["admin"]))["addToBlacklist"][
        "userErrors"] == []
    assert await placed(gql, buyer, market, address={**ADDRESS, "detail": "白名单路18号"}) == ["ORDER_REFUSED"]


async def test_the_blacklist_is_a_connection(gql, db, tokens):
    admin = tokens["admin"]
    ips = [f"10.9.8.{n}" for n in range(5)]
    for ip in ips:
        added = (await gql.ok(ADD, {"i": {"entry": {"kind": "IP", "value": ip}, "reason": "paging"}}, admin))
        assert added["addToBlacklist"]["userErrors"] == []
    listed = await db.fetchval("SELECT count(*) FROM risk_blacklist WHERE kind = 'IP'")
    seen, after = [], None
    while True:
        page = (await gql.ok(BLACKLIST_PAGE, {"k": "IP", "after": after}, admin))["blacklist"]
        assert page["pageInfo"]["hasPreviousPage"] == (after is not None)
        seen += [e["node"]["value"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert len(seen) == len(set(seen)) == listed and set(ips) <= set(seen)
    bad = await gql(BLACKLIST_PAGE, {"k": "IP", "after": "bm9wZQ"}, admin)
    assert bad["errors"][0]["extensions"]["code"] == "INVALID_CURSOR"
