"""Shared by the merchant tests: accounts, a licence upload, applications driven through GraphQL,
the deposit paid in the sandbox (cashier → pay page → signed callback → worker), and a shop's
product in one of its categories with stock that can be delivered to Shenzhen."""

import uuid
from types import SimpleNamespace

from app.auth.principal import Principal
from app.auth.sessions import open_session
from app.ids import decode_id
from tests.payments.helpers import new_buyer, run_jobs, wait_batch
from tests.uploads.helpers import image_bytes

PASSWORD = "Shop-owner-pass-42"
APPLY = """mutation($i: ApplyForMerchantInput!) { applyForMerchant(input: $i) {
  application { id status shopName merchantId depositAmount rejectionReason ownerUsername categoryIds
                licenceUploadIds history { fromStatus toStatus actor reason } }
  userErrors { field code message } } }"""
APPROVE = """mutation($i: ApproveMerchantApplicationInput!) { approveMerchantApplication(input: $i) {
  application { id status merchantId depositAmount } userErrors { field code message } } }"""
REJECT = """mutation($i: RejectMerchantApplicationInput!) { rejectMerchantApplication(input: $i) {
  application { id status rejectionReason history { toStatus reason } } userErrors { field code message } } }"""
DEPOSIT = """mutation($id: ID!) { startMerchantDepositPayment(input: {applicationId: $id}) {
  depositPayment { paymentOrderId amount status expiresAt } userErrors { field code message } } }"""
PAY = """mutation($po: ID!) { createPayment(input: {paymentOrderId: $po, channel: WECHAT}) {
  payment { id amount authLevel } instructions { payUrl } userErrors { code } } }"""
STAFF_LOGIN = """mutation($u: String!, $p: String!) { staffLogin(input: {username: $u, password: $p}) {
  accessToken viewer { merchantId merchantRole } userErrors { code } } }"""
APPLICATION = "query($id: ID!) { merchantApplication(id: $id) { id status rejectionReason merchantId } }"
MY_SHOP = "{ myShop { id name status deposit categoryIds history { fromStatus toStatus actor reason } } }"
SHOP_CHANGE = """mutation($i: ShopStatusInput!) {{ {op}(input: $i) {{ shop {{ id status deposit }}
  userErrors {{ field code message }} }} }}"""


def codes(payload: dict) -> list[str]:
    return [e["code"] for e in payload["userErrors"]]


def top_codes(body: dict) -> list[str]:
    return [e["extensions"]["code"] for e in body.get("errors", [])]


async def staff_token(db, settings, kind: str = "ADMIN", merchant_id: int | None = None,
                      role: str | None = None) -> SimpleNamespace:
    name = f"t{uuid.uuid4().hex[:12]}"
    staff_id = await db.fetchval(
        "INSERT INTO staff_accounts (username, password_hash, kind, merchant_id, merchant_role)"
        " VALUES ($1, 'x', $2, $3, $4) RETURNING id", name, kind, merchant_id, role)
    principal = Principal(kind="staff", id=staff_id, staff_kind=kind, merchant_id=merchant_id,  # type: ignore[arg-type]
                          merchant_role=role)  # type: ignore[arg-type]
    async with db.transaction() as conn:
        token = (await open_session(conn, settings, principal)).access_token
    return SimpleNamespace(id=staff_id, token=token, principal=principal)


async def category(db, name: str | None = None, rate: str = "0.05", parent: int | None = None) -> int:
    return await db.fetchval("INSERT INTO backend_categories (name, parent_id, commission_rate) VALUES ($1, $2, $3)"
                             " RETURNING id", name or f"cat-{uuid.uuid4().hex[:8]}", parent, rate)


async def licence(http, token: str) -> str:
    response = await http.post("/uploads", headers={"authorization": f"Bearer {token}"},
                               data={"purpose": "MERCHANT_LICENCE"},
                               files={"file": ("licence.jpg", image_bytes(), "image/jpeg")})
    assert response.status_code == 201, response.text
    return response.json()["id"]


def application_input(categories: list[int], licences: list[str], **over) -> dict:
    tag = uuid.uuid4().hex[:10]
    return {"shopName": f"测试店 {tag}", "companyName": f"深圳{tag}科技有限公司", "creditCode": "91440300MA5F" + "ABC123",
            "legalRepresentative": "李四", "contactName": "王五", "contactPhone": "13900000000",
            "contactEmail": "boss@example.com", "companyAddress": "深圳市南山区",
            "categoryIds": [gid("BackendCategory", c) for c in categories], "licenceUploadIds": licences,
            "ownerUsername": f"owner-{tag}", "ownerPassword": PASSWORD, **over}


def gid(type_name: str, pk: int) -> str:
    from app.ids import encode_id
    return encode_id(type_name, pk)


async def applied(api, http, db, settings, categories: list[int], **over) -> SimpleNamespace:
    """A buyer's fresh application, PENDING_REVIEW."""
    buyer = await new_buyer(db, settings)
    given = application_input(categories, [await licence(http, buyer.token)], **over)
    out = (await api.ok(APPLY, {"i": given}, token=buyer.token))["applyForMerchant"]
    assert out["userErrors"] == [], out
    return SimpleNamespace(buyer=buyer, id=out["application"]["id"], pk=decode_id("MerchantApplication",
                                                                                   out["application"]["id"]),
                           username=given["ownerUsername"], input=given, application=out["application"])


async def pay_deposit(api, http, db, settings, buyer_token: str, application_id: str) -> dict:
    """Ask for the deposit payment order, pay it at the sandbox's pay page (SMS step), and let the
    worker apply the signed callback."""
    deposit = (await api.ok(DEPOSIT, {"id": application_id}, token=buyer_token))["startMerchantDepositPayment"]
    assert deposit["userErrors"] == [], deposit
    payment = (await api.ok(PAY, {"po": deposit["depositPayment"]["paymentOrderId"]},
                            token=buyer_token))["createPayment"]
    assert payment["userErrors"] == [], payment
    paid = (await http.post(payment["instructions"]["payUrl"], params={"sms_code": "123456", "password": "123456"})).json()
    assert "batch_id" in paid, paid
    assert (await wait_batch(http, paid["batch_id"]))["acknowledged"] >= 1
    await run_jobs(settings, db)
    return {**deposit["depositPayment"], "payment": payment["payment"]}


async def open_shop(api, http, db, settings, admin_token: str, categories: list[int],
                    deposit: int = 200_000) -> SimpleNamespace:
    """Application → approval → deposit paid → OPEN, and the owner signed in."""
    app = await applied(api, http, db, settings, categories)
    approved = (await api.ok(APPROVE, {"i": {"applicationId": app.id, "deposit": deposit}},
                             token=admin_token))["approveMerchantApplication"]
    assert approved["userErrors"] == [], approved
    merchant = decode_id("Merchant", approved["application"]["merchantId"])
    paid = await pay_deposit(api, http, db, settings, app.buyer.token, app.id)
    login = (await api.ok(STAFF_LOGIN, {"u": app.username, "p": PASSWORD}))["staffLogin"]
    assert login["userErrors"] == [], login
    return SimpleNamespace(app=app, merchant=merchant, owner_token=login["accessToken"], deposit=paid)


async def listed_product(db, merchant: int, category_id: int, price: int) -> SimpleNamespace:
    """A LISTED product of the shop with one SKU at `price`, 100 in stock, deliverable to Guangdong."""
    async with db.transaction() as c:
        warehouse = await c.fetchval("INSERT INTO warehouses (merchant_id, name) VALUES ($1, 'main') RETURNING id",
                                     merchant)
        await c.execute("INSERT INTO warehouse_regions (warehouse_id, region_code) VALUES ($1, '440000')", warehouse)
        product = await c.fetchval(
            "INSERT INTO products (merchant_id, category_id, title, fulfillment_type, status, min_price, max_price,"
            " listed_at) VALUES ($1, $2, $3, 'MERCHANT', 'LISTED', $4, $4, now()) RETURNING id",
            merchant, category_id, f"商品 {uuid.uuid4().hex[:6]}", price)
        sku = await c.fetchval("INSERT INTO skus (product_id, merchant_id, code, price) VALUES ($1, $2, $3, $4)"
                               " RETURNING id", product, merchant, f"M{uuid.uuid4().hex[:10]}", price)
        await c.execute("INSERT INTO stock (sku_id, warehouse_id, on_hand) VALUES ($1, $2, 100)", sku, warehouse)
    return SimpleNamespace(product=product, sku=sku, warehouse=warehouse, price=price)
