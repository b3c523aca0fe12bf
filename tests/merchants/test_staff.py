"""Staff: the owner invites (a code shown once, accepted with a login and password), changes
roles and deactivates; operators may do neither, nor withdraw (`require_owner`); a role change or
a deactivation ends the member's sessions; a shop keeps an active owner; a shop's staff see only
their own shop's staff."""

import pytest

from app.auth.principal import Principal
from app.errors import DomainError
from app.merchants.errors import ShopError
from app.merchants.staff import require_owner
from tests.merchants.helpers import STAFF_LOGIN, category, codes, gid, open_shop, staff_token, top_codes

INVITE = """mutation($r: MerchantRole!) { inviteStaff(input: {role: $r, note: "仓库"}) {
  invitation { id role note acceptedAt } code userErrors { code } } }"""
ACCEPT = """mutation($c: String!, $u: String!) { acceptStaffInvitation(input: {code: $c, username: $u,
  password: "Operator-pass-42", displayName: "小王"}) { staff { id username role active } userErrors { field code } } }"""
ROLE = """mutation($s: ID!, $r: MerchantRole!) { setStaffRole(input: {staffId: $s, role: $r}) {
  staff { id role } userErrors { code } } }"""
DEACTIVATE = """mutation($s: ID!) { deactivateStaff(input: {staffId: $s}) { staff { id active } userErrors { code } } }"""
STAFF = "{ shopStaff { id username role active } }"
INVITATIONS = "{ staffInvitations { id role acceptedAt } }"
ME = "{ me { id } }"


@pytest.fixture(scope="module")
async def admin(db, settings):
    return await staff_token(db, settings)


async def _join(api, owner_token: str, role: str, username: str) -> tuple[dict, str]:
    invited = (await api.ok(INVITE, {"r": role}, token=owner_token))["inviteStaff"]
    assert invited["userErrors"] == [] and len(invited["code"]) >= 20
    joined = (await api.ok(ACCEPT, {"c": invited["code"], "u": username}))["acceptStaffInvitation"]
    assert joined["userErrors"] == [], joined
    login = (await api.ok(STAFF_LOGIN, {"u": username, "p": "Operator-pass-42"}))["staffLogin"]
    assert login["userErrors"] == [] and login["viewer"]["merchantRole"] == role
    return joined["staff"], login["accessToken"]


async def test_invitation_roles_and_deactivation(api, http, db, settings, admin):
    shop = await open_shop(api, http, db, settings, admin.token, [await category(db)])
    invited = (await api.ok(INVITE, {"r": "OPERATOR"}, token=shop.owner_token))["inviteStaff"]
    code = invited["code"]
    assert await db.fetchval("SELECT count(*) FROM staff_invitations WHERE code_hash = $1", code) == 0  # hashed
    assert codes((await api.ok(ACCEPT, {"c": "not-a-code", "u": "nobody-x"}))["acceptStaffInvitation"]) == \
        ["INVITATION_INVALID"]
    joined = (await api.ok(ACCEPT, {"c": code, "u": f"op-{shop.merchant}"}))["acceptStaffInvitation"]
    assert joined["userErrors"] == [] and (joined["staff"]["role"], joined["staff"]["active"]) == ("OPERATOR", True)
    assert codes((await api.ok(ACCEPT, {"c": code, "u": f"op2-{shop.merchant}"}))["acceptStaffInvitation"]) == \
        ["INVITATION_INVALID"]       # used up
    login = (await api.ok(STAFF_LOGIN, {"u": f"op-{shop.merchant}", "p": "Operator-pass-42"}))["staffLogin"]
    operator = login["accessToken"]
    assert login["viewer"]["merchantRole"] == "OPERATOR"

    # an operator changes no staff
    assert codes((await api.ok(INVITE, {"r": "OPERATOR"}, token=operator))["inviteStaff"]) == ["OWNER_REQUIRED"]
    owner_id = next(s["id"] for s in (await api.ok(STAFF, token=operator))["shopStaff"] if s["role"] == "OWNER")
    assert codes((await api.ok(ROLE, {"s": owner_id, "r": "OPERATOR"}, token=operator))["setStaffRole"]) == \
        ["OWNER_REQUIRED"]
    assert codes((await api.ok(DEACTIVATE, {"s": owner_id}, token=operator))["deactivateStaff"]) == ["OWNER_REQUIRED"]
    assert top_codes(await api(INVITATIONS, token=operator)) == ["OWNER_REQUIRED"]
    # the owner keeps the shop owned: no self-demotion, no removing the last owner
    assert codes((await api.ok(ROLE, {"s": owner_id, "r": "OPERATOR"}, token=shop.owner_token))["setStaffRole"]) == \
        ["LAST_OWNER"]
    assert [i["acceptedAt"] is not None for i in (await api.ok(INVITATIONS, token=shop.owner_token))[
        "staffInvitations"]] == [True]

    # promoting ends the operator's sessions (the token's role is stale); a new sign-in has the new role
    promoted = (await api.ok(ROLE, {"s": joined["staff"]["id"], "r": "OWNER"}, token=shop.owner_token))["setStaffRole"]
    assert promoted["userErrors"] == [] and promoted["staff"]["role"] == "OWNER"
    assert top_codes(await api(ME, token=operator)) == ["UNAUTHENTICATED"]
    second_owner = (await api.ok(STAFF_LOGIN, {"u": f"op-{shop.merchant}", "p": "Operator-pass-42"}))["staffLogin"]
    assert second_owner["viewer"]["merchantRole"] == "OWNER"
    # with two owners, one may demote the other, then deactivate them
    demoted = (await api.ok(ROLE, {"s": joined["staff"]["id"], "r": "OPERATOR"}, token=shop.owner_token))
    assert demoted["setStaffRole"]["staff"]["role"] == "OPERATOR"
    _, again = await _join(api, shop.owner_token, "OPERATOR", f"op3-{shop.merchant}")
    gone = (await api.ok(DEACTIVATE, {"s": joined["staff"]["id"]}, token=shop.owner_token))["deactivateStaff"]
    assert gone["userErrors"] == [] and gone["staff"]["active"] is False
    assert codes((await api.ok(STAFF_LOGIN, {"u": f"op-{shop.merchant}", "p": "Operator-pass-42"}))["staffLogin"]) == \
        ["INVALID_CREDENTIALS"]
    events = [r["event_type"] for r in await db.fetch("SELECT event_type FROM outbox WHERE merchant_id = $1"
                                                       " AND event_type LIKE 'STAFF_%' ORDER BY id", shop.merchant)]
    assert events[:3] == ["STAFF_INVITED", "STAFF_JOINED", "STAFF_ROLE_CHANGED"] and events[-1] == "STAFF_DEACTIVATED"


async def test_staff_see_only_their_shop(api, http, db, settings, admin):
    cat = await category(db)
    a = await open_shop(api, http, db, settings, admin.token, [cat])
    b = await open_shop(api, http, db, settings, admin.token, [cat])
    a_staff, _ = await _join(api, a.owner_token, "OPERATOR", f"a-op-{a.merchant}")
    seen_by_b = {s["username"] for s in (await api.ok(STAFF, token=b.owner_token))["shopStaff"]}
    assert seen_by_b == {b.app.username}
    # B cannot touch A's staff member
    assert codes((await api.ok(DEACTIVATE, {"s": a_staff["id"]}, token=b.owner_token))["deactivateStaff"]) == \
        ["NOT_FOUND"]
    assert {s["username"] for s in (await api.ok(STAFF, token=a.owner_token))["shopStaff"]} == \
        {a.app.username, f"a-op-{a.merchant}"}
    # the back office names the shop
    by_admin = await api.ok("query($m: ID) { shopStaff(merchantId: $m) { username } }",
                            {"m": gid("Merchant", b.merchant)}, token=admin.token)
    assert {s["username"] for s in by_admin["shopStaff"]} == {b.app.username}
    assert top_codes(await api(STAFF, token=admin.token)) == ["INVALID_VALUE"]


def test_require_owner_is_the_one_rule_for_owner_only_acts():
    """Withdrawals (app/payouts) call it too: only a merchant's OWNER passes."""
    assert require_owner(Principal(kind="staff", id=1, staff_kind="MERCHANT", merchant_id=7, merchant_role="OWNER")) == 7
    for who in (Principal(kind="staff", id=2, staff_kind="MERCHANT", merchant_id=7, merchant_role="OPERATOR"),
                Principal(kind="staff", id=3, staff_kind="ADMIN"), Principal(kind="buyer", id=4)):
        with pytest.raises(DomainError) as refused:
            require_owner(who)
        assert refused.value.problems[0].code is ShopError.OWNER_REQUIRED
