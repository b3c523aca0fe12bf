"""Live merchant events: a shop's console subscribed to `merchantEvents` sees its own shop's
status changes and never another shop's; the back office sees every one, review results
included."""

from tests.e2e.conftest import Subscriber
from tests.merchants.helpers import APPROVE, applied, category, gid, open_shop, staff_token
from tests.servers import relaying

EVENTS = "subscription { merchantEvents { eventId type merchantId applicationId status payload } }"
SUSPEND = """mutation($i: ShopStatusInput!) { suspendShop(input: $i) { shop { status } userErrors { code } } }"""


def subscribe(port: int, token: str):
    return Subscriber.open(port, token, EVENTS, "merchantEvents", "merchant")


async def test_each_console_sees_its_own_shop_and_the_back_office_all(api, http, db, redis, settings, port):
    admin = await staff_token(db, settings)
    cat = await category(db)
    a = await open_shop(api, http, db, settings, admin.token, [cat])
    b = await open_shop(api, http, db, settings, admin.token, [cat])
    pending = await applied(api, http, db, settings, [cat])
    async with relaying(db, redis, settings, 0.2), subscribe(port, a.owner_token) as console_a, \
            subscribe(port, b.owner_token) as console_b, subscribe(port, admin.token) as back_office:
        await console_a.ready(redis, a.merchant)
        await console_b.ready(redis, b.merchant)
        await back_office.ready(redis, a.merchant)

        out = (await api.ok(SUSPEND, {"i": {"merchantId": gid("Merchant", a.merchant), "reason": "抽检不合格"}},
                            token=admin.token))["suspendShop"]
        assert out["userErrors"] == []
        seen = await console_a.event(lambda e: e["type"] == "MERCHANT_SUSPENDED")
        assert (seen["merchantId"], seen["status"], seen["payload"]["reason"]) == \
            (gid("Merchant", a.merchant), "SUSPENDED", "抽检不合格")
        await back_office.event(lambda e: e["type"] == "MERCHANT_SUSPENDED" and e["merchantId"] == seen["merchantId"])

        await api.ok(APPROVE, {"i": {"applicationId": pending.id}}, token=admin.token)
        review = await back_office.event(lambda e: e["type"] == "MERCHANT_APPLICATION_APPROVED"
                                         and e["applicationId"] == pending.id)
        assert review["status"] == "APPROVED" and review["merchantId"] is not None

        # B's own probe arrives after A's events and the review, which never reached B
        await console_b.ready(redis, b.merchant)
        assert all(e["merchantId"] in (None, gid("Merchant", b.merchant)) for e in console_b.received)
        assert not any(e["type"] in ("MERCHANT_SUSPENDED", "MERCHANT_APPLICATION_APPROVED") for e in console_b.received)
