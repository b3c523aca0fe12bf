from tests.auth.helpers import register_input
from tests.conftest import unique_phone

REGISTER = """mutation($i: RegisterBuyerInput!) { registerBuyer(input: $i) {
  accessToken refreshToken viewer { id kind isAdmin } userErrors { field code message } } }"""
LOGIN = """mutation($i: BuyerLoginInput!) { buyerLogin(input: $i) {
  accessToken refreshToken userErrors { code message } } }"""
STAFF_LOGIN = """mutation($i: StaffLoginInput!) { staffLogin(input: $i) {
  accessToken viewer { isAdmin merchantId merchantRole } userErrors { code } } }"""
REFRESH = "mutation($t: String!) { refreshSession(refreshToken: $t) { accessToken refreshToken userErrors { code } } }"
ME = "{ me { id kind isAdmin merchantId } }"


async def register(gql, phone=None, password="secret-pass-1"):
    phone = phone or unique_phone()
    data = await gql.ok(REGISTER, {"i": await register_input(gql, phone, password)})
    return phone, data["registerBuyer"]


async def test_register_login_me(gql):
    phone, reg = await register(gql)
    assert reg["userErrors"] == [] and reg["viewer"]["kind"] == "BUYER"
    login = (await gql.ok(LOGIN, {"i": {"phone": phone, "password": "secret-pass-1"}}))["buyerLogin"]
    assert login["userErrors"] == []
    me = (await gql.ok(ME, token=login["accessToken"]))["me"]
    assert me["kind"] == "BUYER" and me["isAdmin"] is False


async def test_registration_bad_input(gql):
    phone, _ = await register(gql)
    _, dup = await register(gql, phone=phone)
    assert [e["code"] for e in dup["userErrors"]] == ["PHONE_TAKEN"]
    assert dup["accessToken"] is None
    _, weak = await register(gql, password="short")
    assert weak["userErrors"][0]["code"] == "WEAK_PASSWORD"
    assert weak["userErrors"][0]["field"] == ["input", "password"]
    _, bad = await register(gql, phone="not-a-phone")
    assert bad["userErrors"][0]["code"] == "INVALID_PHONE"


async def test_wrong_password_and_unknown_phone_look_the_same(gql):
    phone, _ = await register(gql)
    wrong = (await gql.ok(LOGIN, {"i": {"phone": phone, "password": "nope-nope-1"}}))["buyerLogin"]
    unknown = (await gql.ok(LOGIN, {"i": {"phone": unique_phone(), "password": "nope-nope-1"}}))["buyerLogin"]
    assert wrong["userErrors"] == unknown["userErrors"]
    assert wrong["userErrors"][0]["code"] == "INVALID_CREDENTIALS"


async def test_staff_login_carries_merchant(gql, tokens):
    admin = (await gql.ok(STAFF_LOGIN, {"i": {"username": "admin", "password": "demo-pass-123"}}))["staffLogin"]
    assert admin["viewer"]["isAdmin"] is True
    owner = (await gql.ok(STAFF_LOGIN, {"i": {"username": "acme-owner", "password": "demo-pass-123"}}))["staffLogin"]
    assert owner["viewer"]["merchantRole"] == "OWNER" and owner["viewer"]["merchantId"]


async def test_refresh_rotates_and_old_token_is_dead(gql):
    _, reg = await register(gql)
    first = (await gql.ok(REFRESH, {"t": reg["refreshToken"]}))["refreshSession"]
    assert first["userErrors"] == [] and first["refreshToken"] != reg["refreshToken"]
    again = (await gql.ok(REFRESH, {"t": reg["refreshToken"]}))["refreshSession"]
    assert again["userErrors"][0]["code"] == "INVALID_REFRESH_TOKEN"


async def test_logout_revokes_access_and_refresh(gql):
    _, reg = await register(gql)
    out = await gql.ok("mutation($t: String) { logout(refreshToken: $t) { ok } }", {"t": reg["refreshToken"]},
                       token=reg["accessToken"])
    assert out["logout"]["ok"] is True
    body = await gql(ME, token=reg["accessToken"])
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    dead = (await gql.ok(REFRESH, {"t": reg["refreshToken"]}))["refreshSession"]
    assert dead["userErrors"][0]["code"] == "INVALID_REFRESH_TOKEN"


async def test_me_needs_a_valid_token(gql):
    body = await gql(ME)
    assert body["data"] is None and body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    body = await gql(ME, token="garbage.token.here")
    assert body["errors"][0]["message"] == "invalid or expired access token"
