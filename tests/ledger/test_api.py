"""The settlement GraphQL: the demo's first run shows Lumen a statement (lines, CSV); a merchant
sees only its own statements; the back office lists runs, sets terms and runs the audit."""

import csv
import io

STATEMENTS = """query($m: ID) { settlementStatements(merchantId: $m, first: 10) { edges { node {
  id merchantId runDay cycle lineCount goodsAmount subsidy commission shipping refundDeductions net
  lines(first: 10) { edges { node { kind quantity goodsAmount subsidy receivable commissionRate commission shipping
  net } } }
  csv } } } }"""
ONE = "query($id: ID!) { settlementStatement(id: $id) { id net } }"


async def test_the_demo_statement_is_lumens_only(gql, tokens):
    data = await gql.ok(STATEMENTS, token=tokens["lumen"])
    statements = [e["node"] for e in data["settlementStatements"]["edges"]]
    assert statements, "the demo's first run settled Lumen's completed orders"
    st = statements[0]
    lines = [e["node"] for e in st["lines"]["edges"]]
    # what the lines say adds up to the statement, and a platform-funded share is paid as subsidy
    assert st["net"] == sum(x["net"] for x in lines)
    assert st["net"] == st["goodsAmount"] + st["subsidy"] - st["commission"] + st["shipping"] - st["refundDeductions"]
    assert st["subsidy"] > 0 and st["shipping"] == 800 and st["cycle"] == "DAILY T+7"
    rows = list(csv.reader(io.StringIO(st["csv"])))
    assert rows[1][:3] == ["line_id", "kind", "order_id"] and rows[-1][0] == "TOTAL"
    assert len(rows) == 2 + len(lines) + 1 and int(rows[-1][13]) == st["net"]
    # Acme sees none of it: not in its list, not by id, not by asking for Lumen's
    acme = await gql.ok(STATEMENTS, token=tokens["acme"])
    assert all(e["node"]["merchantId"] != st["merchantId"] for e in acme["settlementStatements"]["edges"])
    body = await gql(ONE, {"id": st["id"]}, token=tokens["acme"])
    assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    body = await gql(STATEMENTS, {"m": st["merchantId"]}, token=tokens["acme"])
    assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    admin = await gql.ok(ONE, {"id": st["id"]}, token=tokens["admin"])
    assert admin["settlementStatement"]["net"] == st["net"]
    body = await gql(ONE, {"id": st["id"]}, token=tokens["buyer"])
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_back_office_runs_terms_and_audit(gql, tokens):
    runs = await gql.ok("{ settlementRuns(first: 5) { edges { node { runDay status lines statements } } } }",
                        token=tokens["admin"])
    assert runs["settlementRuns"]["edges"][0]["node"]["status"] == "DONE"
    body = await gql("{ settlementRuns(first: 5) { edges { node { runDay } } } }", token=tokens["lumen"])
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    audit = await gql.ok("{ ledgerAudit { ok postingsTotal unbalancedEntryCount unreconciledOrderCount"
                         " unreconciledOrders { orderId paid payable } statementMismatches { runDay } } }",
                         token=tokens["admin"])
    assert audit["ledgerAudit"]["ok"], audit
    merchant = (await gql.ok(STATEMENTS, token=tokens["lumen"]))["settlementStatements"]["edges"][0]["node"]["merchantId"]
    set_terms = """mutation($i: SetMerchantSettlementTermsInput!) { setMerchantSettlementTerms(input: $i) {
      terms { cycle delayDays } userErrors { code field } } }"""
    bad = await gql.ok(set_terms, {"i": {"merchantId": merchant, "cycle": "WEEKLY", "delayDays": 91}},
                       token=tokens["admin"])
    assert bad["setMerchantSettlementTerms"]["userErrors"][0]["code"] == "INVALID_DELAY"
    ok = await gql.ok(set_terms, {"i": {"merchantId": merchant, "cycle": "WEEKLY", "delayDays": 3}},
                      token=tokens["admin"])
    assert ok["setMerchantSettlementTerms"]["terms"] == {"cycle": "WEEKLY", "delayDays": 3}
    mine = await gql.ok("{ merchantSettlementTerms { cycle delayDays } }", token=tokens["lumen"])
    assert mine["merchantSettlementTerms"] == {"cycle": "WEEKLY", "delayDays": 3}
    other = await gql.ok("{ merchantSettlementTerms { cycle delayDays } }", token=tokens["acme"])
    assert other["merchantSettlementTerms"] == {"cycle": "DAILY", "delayDays": 7}
