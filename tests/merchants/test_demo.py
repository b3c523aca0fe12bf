"""The demo shows onboarding at each stage, through its own rules, and is seeded once."""

from app.demo import DEMO_PASSWORD, seed_demo
from tests.merchants.helpers import STAFF_LOGIN


async def test_the_demo_has_an_application_to_review_a_deposit_due_and_an_onboarded_shop(db, api):
    await seed_demo(db, progress=lambda _: None)
    await seed_demo(db, progress=lambda _: None)
    rows = {r["owner_username"]: r for r in await db.fetch(
        "SELECT a.owner_username, a.status, m.status AS shop FROM merchant_applications a"
        " LEFT JOIN merchants m ON m.id = a.merchant_id")}
    assert {k: (r["status"], r["shop"]) for k, r in rows.items() if k in ("bloom-owner", "cedar-owner", "maple-owner")} \
        == {"bloom-owner": ("PENDING_REVIEW", None), "cedar-owner": ("APPROVED", "PENDING_DEPOSIT"),
            "maple-owner": ("OPENED", "OPEN")}
    cedar = await db.fetchval("SELECT m.id FROM merchants m WHERE m.name = 'Cedar 户外装备'")
    assert await db.fetchval("SELECT status FROM payment_orders WHERE kind = 'DEPOSIT' AND merchant_id = $1",
                             cedar) == "PENDING_PAYMENT"
    maple = await db.fetchval("SELECT m.id FROM merchants m WHERE m.name = 'Maple 文具馆'")
    assert await db.fetchval("SELECT kind FROM journal_entries WHERE id = $1", f"deposit:{maple}:paid") == "DEPOSIT_PAID"
    login = (await api.ok(STAFF_LOGIN, {"u": "maple-owner", "p": DEMO_PASSWORD}))["staffLogin"]
    assert login["userErrors"] == [] and login["viewer"]["merchantRole"] == "OWNER"
