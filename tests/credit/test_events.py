"""Live credit events reach the back office (creditEvents): an approval, a limit raise (for
marketing: 提额营销) and a loan with its financing; buyers and merchants may not subscribe."""


from tests.credit.helpers import APPLY, CHANGE_LIMIT, make_loan, new_id
from tests.e2e.conftest import Subscriber
from tests.payments.helpers import gid, new_buyer
from tests.servers import relaying

EVENTS = "subscription { creditEvents { type buyerId payload } }"


async def test_the_back_office_hears_credit_events(api, db, redis, settings, tokens):
    buyer = await new_buyer(db, settings)
    phone = await db.fetchval("SELECT phone FROM buyers WHERE id = $1", buyer.id)
    async with Subscriber.open(settings.port, tokens["admin"], EVENTS, "creditEvents", "credit") as office, \
            relaying(db, redis, settings, 0.05):
        await office.ready(redis, 0)
        await api.ok(APPLY, {"i": {"idNumber": new_id(), "monthlyIncome": 1_200_000, "phone": phone}}, buyer.token)
        await api.ok(CHANGE_LIMIT, {"i": {"buyerId": gid("Buyer", buyer.id), "limit": 2_500_000,
                                          "reason": "good history"}}, tokens["admin"])
        raised = await office.event(lambda e: e["type"] == "CREDIT_LIMIT_CHANGED")
        assert raised["buyerId"] == gid("Buyer", buyer.id)
        assert (raised["payload"]["direction"], raised["payload"]["to"]) == ("RAISE", 2_500_000)
        mine = [e["type"] for e in office.received if e["buyerId"] == gid("Buyer", buyer.id)]
        assert mine == ["CREDIT_APPROVED", "CREDIT_LIMIT_CHANGED"]
    async with Subscriber.open(settings.port, buyer.token, EVENTS, "creditEvents", "credit") as refused:
        message = await refused.next_message()
        assert message["type"] == "error" and "FORBIDDEN" in str(message)


async def test_a_loan_and_its_financing_are_announced(api, db, redis, settings, tokens):
    async with Subscriber.open(settings.port, tokens["admin"], EVENTS, "creditEvents", "credit") as office, \
            relaying(db, redis, settings, 0.05):
        await office.ready(redis, 0)
        loan = await make_loan(db, settings)
        async with db.transaction() as conn:
            from datetime import UTC, datetime

            from app.credit import financing
            await financing.finance(conn, loan, datetime.now(UTC))
        financed = await office.event(lambda e: e["type"] == "LOAN_FINANCED")
        assert financed["payload"]["loan_id"] == loan
