"""Loans, bills, the overdue list and funders through GraphQL: the buyer sees their own loans
and bills only; the back office the overdue list and the funders it configures."""

from datetime import date

from app.auth.principal import Principal
from app.auth.sessions import open_session
from app.credit.billing import run_billing
from app.ids import encode_id
from tests.credit.helpers import make_loan

MY_LOANS = """query { myLoans(first: 10) { edges { node { id principal periods ratePercent status funding
  bills { period dueOn principal fee penalty owed status } } } } }"""
OVERDUE = "query { overdueBills(first: 100) { edges { node { loanId period owed penalty status } } } }"
CREATE = """mutation($i: CreateFunderInput!) { createFunder(input: $i) {
  funder { id name kind capital maxAmount periods minTier priority active loans assets } userErrors { field code } } }"""
UPDATE = """mutation($i: UpdateFunderInput!) { updateFunder(input: $i) {
  funder { capital active priority } userErrors { field code } } }"""


async def _token_of_loan(db, settings, loan: int) -> str:
    buyer = await db.fetchval("SELECT buyer_id FROM loans WHERE id = $1", loan)
    async with db.transaction() as conn:
        return (await open_session(conn, settings, Principal(kind="buyer", id=buyer))).access_token


async def test_a_buyer_sees_their_loans_and_bills_and_the_back_office_the_overdue_list(gql, db, settings, tokens):
    loan = await make_loan(db, settings, 300000, 3)
    other = await make_loan(db, settings, 600000, 6)
    token = await _token_of_loan(db, settings, loan)
    mine = (await gql.ok(MY_LOANS, {}, token))["myLoans"]["edges"]
    assert [e["node"]["id"] for e in mine] == [encode_id("Loan", loan)]
    node = mine[0]["node"]
    assert (node["principal"], node["periods"], node["ratePercent"], node["status"], node["funding"]) == (
        300000, 3, "2.300", "ACTIVE", "PENDING")
    assert [(b["period"], b["dueOn"], b["principal"], b["fee"], b["owed"], b["status"]) for b in node["bills"]] == [
        (1, "2026-02-10", 100000, 2300, 102300, "PENDING"), (2, "2026-03-10", 100000, 2300, 102300, "PENDING"),
        (3, "2026-04-10", 100000, 2300, 102300, "PENDING")]

    await run_billing(db, settings, date(2026, 2, 12))            # two penalty days: 2 × 51
    assert (await gql(OVERDUE, {}, token))["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    listed = (await gql.ok(OVERDUE, {}, tokens["admin"]))["overdueBills"]["edges"]
    ours = {(e["node"]["loanId"], e["node"]["period"]): e["node"] for e in listed}
    assert ours[(encode_id("Loan", loan), 1)] | {} == {"loanId": encode_id("Loan", loan), "period": 1,
                                                       "owed": 102300 + 102, "penalty": 102, "status": "OVERDUE"}
    assert (encode_id("Loan", other), 1) in ours and (encode_id("Loan", loan), 2) not in ours


async def test_the_back_office_configures_funders(gql, db, tokens):
    spec = {"name": "信托一号", "kind": "TRUST", "capital": 10_000_000, "maxAmount": 500_000, "periods": [3, 6],
            "minTier": "B", "priority": 3}
    made = (await gql.ok(CREATE, {"i": spec}, tokens["admin"]))["createFunder"]
    assert made["userErrors"] == []
    assert made["funder"] | {} == {**spec, "id": made["funder"]["id"], "active": True, "loans": 0, "assets": 0}
    again = (await gql.ok(CREATE, {"i": spec}, tokens["admin"]))["createFunder"]
    assert [e["code"] for e in again["userErrors"]] == ["FUNDER_NAME_TAKEN"]
    bad = (await gql.ok(CREATE, {"i": {**spec, "name": "x", "kind": "BANK", "periods": [4]}}, tokens["admin"]))
    assert [e["code"] for e in bad["createFunder"]["userErrors"]] == ["INVALID_FUNDER"]
    topped = (await gql.ok(UPDATE, {"i": {"funderId": made["funder"]["id"], "addCapital": 5_000_000, "active": False}},
                           tokens["admin"]))["updateFunder"]["funder"]
    assert (topped["capital"], topped["active"], topped["priority"]) == (15_000_000, False, 3)
    assert (await gql(CREATE, {"i": {**spec, "name": "y"}}, tokens["acme"]))["errors"][0]["extensions"]["code"] == \
        "FORBIDDEN"
