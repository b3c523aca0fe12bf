"""Live payout events: a merchant's console (merchantPayoutEvents) sees its own withdrawal and
adjustment events, another merchant's does not, and the back office sees them all."""

from tests.e2e.conftest import Subscriber
from tests.payouts.helpers import ADJUST, REJECT, REQUEST, gid, settle, shop
from tests.servers import relaying

EVENTS = "subscription { merchantPayoutEvents { type withdrawalId adjustmentId merchantId status amount payload } }"


async def test_payout_events_reach_the_console_and_the_back_office(api, db, redis, settings, tokens):
    mine, theirs = await shop(db, settings), await shop(db, settings)
    await settle(db, mine.id, 1_000)
    field = "merchantPayoutEvents"
    async with Subscriber.open(settings.port, mine.owner, EVENTS, field, "payouts") as console, \
            Subscriber.open(settings.port, theirs.owner, EVENTS, field, "payouts") as other, \
            Subscriber.open(settings.port, tokens["admin"], EVENTS, field, "payouts") as office, \
            relaying(db, redis, settings, 0.05):
        for sub, merchant in ((console, mine.id), (other, theirs.id), (office, mine.id)):
            await sub.ready(redis, merchant)
        wid = (await api.ok(REQUEST, {"amount": 400, "key": "ev"}, mine.owner))["requestWithdrawal"]["withdrawal"]["id"]
        await api.ok(REJECT, {"id": wid, "reason": "test"}, tokens["admin"])
        await api.ok(ADJUST, {"m": mine.gid, "amount": 250, "reason": "ev", "key": f"ev-{mine.id}"}, tokens["admin"])
        for sub in (console, office):
            await sub.event(lambda e: e["type"] == "ADJUSTMENT_POSTED" and e["merchantId"] == mine.gid)
            seen = [e for e in sub.received if e["type"] != "TEST_PROBE" and e["merchantId"] == mine.gid]
            assert [(e["type"], e["status"], e["amount"], e["merchantId"]) for e in seen] == [
                ("WITHDRAWAL_REQUESTED", "REQUESTED", 400, gid("Merchant", mine.id)),
                ("WITHDRAWAL_REJECTED", "REJECTED", 400, gid("Merchant", mine.id)),
                ("ADJUSTMENT_POSTED", None, 250, gid("Merchant", mine.id))]
            assert seen[0]["withdrawalId"] == wid and seen[2]["adjustmentId"] is not None
        await other.ready(redis, theirs.id)       # events reach subscribers in order: they would be here
        assert [e["type"] for e in other.received if e["type"] != "TEST_PROBE"] == []
