"""The address book (DOMAIN §1) and where it is used: placement by `addressId` or the default
address, and the checkout preview priced for the default address's region."""

import pytest

from app.accounts.addresses import MAX_ADDRESSES
from app.accounts.errors import AccountError
from app.errors import CommonError
from app.orders.errors import OrderError
from tests.accounts.helpers import new_buyer
from tests.checkout.helpers import PREVIEW, TIBET, gid, lines_input, make_market
from tests.orders.helpers import ADDRESS, PLACE, key

FIELDS = "id receiver phone regionCode detail label isDefault"
ADD = f"""mutation($i: AddAddressInput!) {{ addAddress(input: $i) {{ address {{ {FIELDS} }}
  userErrors {{ field code message }} }} }}"""
UPDATE = f"""mutation($i: UpdateAddressInput!) {{ updateAddress(input: $i) {{ address {{ {FIELDS} }}
  userErrors {{ field code }} }} }}"""
DELETE = f"""mutation($i: DeleteAddressInput!) {{ deleteAddress(input: $i) {{ deletedAddressId
  defaultAddress {{ {FIELDS} }} userErrors {{ field code }} }} }}"""
ONE = f"query($id: ID!) {{ myAddress(id: $id) {{ {FIELDS} }} }}"
ME = f"{{ me {{ addresses {{ {FIELDS} }} defaultAddress {{ id }} }} }}"
HOME = {"receiver": "李四", "phone": "13912345678", "regionCode": "110105", "detail": "朝阳区建国路 1 号", "label": "家"}


def address(**changes) -> dict:
    return {**HOME, **changes}


async def add(gql, token, **fields) -> dict:
    return (await gql.ok(ADD, {"i": address(**fields)}, token))["addAddress"]


@pytest.fixture(scope="module")
async def market(db):
    return await make_market(db)


async def test_the_first_address_is_the_default_and_make_default_moves_it(gql, db, settings):
    _, token = await new_buyer(db, settings)
    home = (await add(gql, token))["address"]
    assert home["isDefault"] and home["label"] == "家"
    office = (await add(gql, token, label="公司", detail="国贸 3 期"))["address"]
    assert not office["isDefault"]
    moved = (await gql.ok(UPDATE, {"i": {"addressId": office["id"], "makeDefault": True}}, token))["updateAddress"]
    assert moved["address"]["isDefault"] and moved["address"]["detail"] == "国贸 3 期"   # unchanged fields stay
    me = (await gql.ok(ME, token=token))["me"]
    assert [a["id"] for a in me["addresses"]] == [office["id"], home["id"]]
    assert me["defaultAddress"]["id"] == office["id"]
    assert sum(a["isDefault"] for a in me["addresses"]) == 1


async def test_deleting_the_default_promotes_the_most_recently_added_other(gql, db, settings):
    _, token = await new_buyer(db, settings)
    first = (await add(gql, token, label="1"))["address"]
    second = (await add(gql, token, label="2"))["address"]
    third = (await add(gql, token, label="3"))["address"]
    out = (await gql.ok(DELETE, {"i": {"addressId": first["id"]}}, token))["deleteAddress"]
    assert out["deletedAddressId"] == first["id"] and out["defaultAddress"]["id"] == third["id"]
    out = (await gql.ok(DELETE, {"i": {"addressId": second["id"]}}, token))["deleteAddress"]
    assert out["defaultAddress"]["id"] == third["id"]                      # not the default: nothing moves
    out = (await gql.ok(DELETE, {"i": {"addressId": third["id"]}}, token))["deleteAddress"]
    assert out["defaultAddress"] is None and (await gql.ok(ME, token=token))["me"]["addresses"] == []


@pytest.mark.parametrize(("fields", "code", "field"), [
    ({"receiver": " "}, AccountError.INVALID_ADDRESS, ["input", "receiver"]),
    ({"phone": "12-34"}, AccountError.INVALID_ADDRESS, ["input", "phone"]),
    ({"detail": "x" * 201}, AccountError.INVALID_ADDRESS, ["input", "detail"]),
    ({"label": "x" * 21}, AccountError.INVALID_ADDRESS, ["input", "label"]),
    ({"regionCode": "44"}, AccountError.UNKNOWN_REGION, ["input", "regionCode"]),
    ({"regionCode": "990101"}, AccountError.UNKNOWN_REGION, ["input", "regionCode"]),   # no such province
])
async def test_invalid_addresses_are_refused_at_their_field(gql, db, settings, fields, code, field):
    _, token = await new_buyer(db, settings)
    out = await add(gql, token, **fields)
    assert out["address"] is None and [(e["code"], e["field"]) for e in out["userErrors"]] == [(code.value, field)]


async def test_the_book_holds_at_most_the_limit(gql, db, settings):
    buyer_id, token = await new_buyer(db, settings)
    await db.fetch("INSERT INTO buyer_addresses (buyer_id, receiver, phone, region_code, detail, is_default)"
                   " SELECT $1, 'r', '13900000000', '110105', 'd', n = 1 FROM generate_series(1, $2) n",
                   buyer_id, MAX_ADDRESSES)
    out = await add(gql, token)
    assert [e["code"] for e in out["userErrors"]] == [AccountError.TOO_MANY_ADDRESSES.value]


async def test_someone_elses_address_is_not_found(gql, db, settings):
    _, owner = await new_buyer(db, settings)
    _, stranger = await new_buyer(db, settings)
    theirs = (await add(gql, owner))["address"]
    body = await gql(ONE, {"id": theirs["id"]}, stranger)
    assert body["errors"][0]["extensions"]["code"] == CommonError.NOT_FOUND.value
    assert (await gql.ok(ONE, {"id": theirs["id"]}, owner))["myAddress"]["id"] == theirs["id"]
    for query, i in ((UPDATE, {"addressId": theirs["id"], "label": "mine"}), (DELETE, {"addressId": theirs["id"]})):
        out = next(iter((await gql.ok(query, {"i": i}, stranger)).values()))
        assert [(e["code"], e["field"]) for e in out["userErrors"]] == [(CommonError.NOT_FOUND.value,
                                                                         ["input", "addressId"])]
    assert (await gql.ok(ONE, {"id": theirs["id"]}, owner))["myAddress"]["label"] == "家"


async def test_placement_by_address_id_by_default_and_never_both(gql, db, settings, market):
    _, token = await new_buyer(db, settings)
    lines = lines_input((market.sku["a_cheap"], 1))
    missing = (await gql.ok(PLACE, {"i": {"idempotencyKey": key(), "lines": lines}}, token))["placeOrder"]
    assert [e["code"] for e in missing["userErrors"]] == [OrderError.ADDRESS_REQUIRED.value]   # empty book
    tibet = (await add(gql, token, regionCode="540102", detail="拉萨市城关区 1 号"))["address"]   # the default
    office = (await add(gql, token, detail="国贸 3 期"))["address"]

    by_default = (await gql.ok(PLACE, {"i": {"idempotencyKey": key(), "lines": lines}}, token))["placeOrder"]
    order = by_default["paymentOrder"]["orders"][0]
    assert order["address"] == {"receiver": "李四", "phone": "13912345678", "regionCode": "540102",
                                "detail": "拉萨市城关区 1 号"}
    assert order["shipping"] == 2000                                        # priced for Tibet

    by_id = (await gql.ok(PLACE, {"i": {"idempotencyKey": key(), "lines": lines, "addressId": office["id"]}},
                          token))["placeOrder"]
    assert by_id["paymentOrder"]["orders"][0]["address"]["detail"] == "国贸 3 期"
    assert by_id["paymentOrder"]["orders"][0]["shipping"] == 800

    both = (await gql.ok(PLACE, {"i": {"idempotencyKey": key(), "lines": lines, "addressId": office["id"],
                                       "address": ADDRESS}}, token))["placeOrder"]
    assert [(e["code"], e["field"]) for e in both["userErrors"]] == [(CommonError.INVALID_VALUE.value,
                                                                      ["input", "addressId"])]
    # the order keeps its snapshot when the book changes
    await gql.ok(UPDATE, {"i": {"addressId": tibet["id"], "detail": "changed"}}, token)
    await gql.ok(DELETE, {"i": {"addressId": office["id"]}}, token)
    snapshot = (await gql.ok("query($id: ID!) { order(id: $id) { address { detail } } }", {"id": order["id"]},
                             token))["order"]
    assert snapshot["address"]["detail"] == "拉萨市城关区 1 号"


async def test_placement_with_someone_elses_address_is_not_found(gql, db, settings, market):
    _, owner = await new_buyer(db, settings)
    _, stranger = await new_buyer(db, settings)
    theirs = (await add(gql, owner))["address"]
    out = (await gql.ok(PLACE, {"i": {"idempotencyKey": key(), "lines": lines_input((market.sku["a_cheap"], 1)),
                                      "addressId": theirs["id"]}}, stranger))["placeOrder"]
    assert [(e["code"], e["field"]) for e in out["userErrors"]] == [(CommonError.NOT_FOUND.value,
                                                                     ["input", "addressId"])]
    assert out["paymentOrder"] is None


async def test_the_preview_without_a_region_uses_the_default_address(gql, db, settings, market):
    _, token = await new_buyer(db, settings)
    lines = lines_input((market.sku["a_cheap"], 1))

    async def shipping(**i) -> int:
        return (await gql.ok(PREVIEW, {"i": {"lines": lines, **i}}, token))["checkoutPreview"]["shippingTotal"]
    assert await shipping() == 800                                          # no address: default fee
    await add(gql, token, regionCode="540102")
    assert await shipping() == 2000                                         # the default address is in Tibet
    assert await shipping(regionCode="440305") == 800                       # a region given wins
    anonymous = (await gql.ok(PREVIEW, {"i": {"lines": lines}}))["checkoutPreview"]["shippingTotal"]
    assert anonymous == 800
    assert TIBET == "540000" and gid("Sku", market.sku["a_cheap"])


async def test_the_demo_buyer_has_an_address_book_with_one_default(gql, db, tokens):
    from app.demo import seed_demo
    await seed_demo(db, progress=lambda _: None)                            # idempotent: still two
    me = (await gql.ok(ME, token=tokens["buyer"]))["me"]
    assert len(me["addresses"]) == 2 and [a["isDefault"] for a in me["addresses"]] == [True, False]
    assert me["defaultAddress"]["id"] == me["addresses"][0]["id"]
