"""The matching rule on its own, as a table worked by hand."""

from app.reconciliation.service import Ours, match
from app.reconciliation.statement import Row, StatementUnavailable, parse


def _row(kind, rid, amount):
    return Row(kind, rid, rid, "ref", amount, "2026-11-01T10:00:00+00:00")


def test_match_table():
    """Statement: t1 100, t2 200, t3 300, r1 50. Ours for the day: t1 100, t2 250, t4 400; t3 is
    ours on the day before (a late callback: matched); r1 unknown to us.
    → matched t1, t3; AMOUNT_MISMATCH t2 (250 vs 200); MISSING_OURS r1; MISSING_THEIRS t4."""
    theirs = [_row("PAYMENT", "t1", 100), _row("PAYMENT", "t2", 200), _row("PAYMENT", "t3", 300),
              _row("REFUND", "r1", 50)]
    ours_day = [Ours("PAYMENT", "t1", 100, 1, None), Ours("PAYMENT", "t2", 250, 2, None),
                Ours("PAYMENT", "t4", 400, 4, None)]
    anywhen = {("PAYMENT", "t1"): ours_day[0], ("PAYMENT", "t2"): ours_day[1],
               ("PAYMENT", "t3"): Ours("PAYMENT", "t3", 300, 3, None)}
    matched, diffs = match(theirs, ours_day, anywhen)
    assert matched == 2
    assert [(d.kind.value, d.provider_ref, d.our_amount, d.their_amount) for d in diffs] == [
        ("AMOUNT_MISMATCH", "t2", 250, 200), ("MISSING_OURS", "r1", None, 50), ("MISSING_THEIRS", "t4", 400, None)]


def test_a_malformed_statement_is_refused():
    assert parse("type,id,txn_id,reference,amount,occurred_at\nPAYMENT,t1,t1,1,100,x\n")[0].amount == 100
    for text in ("a,b\n", "type,id,txn_id,reference,amount,occurred_at\nPAYMENT,t1,t1,1,1.5,x\n"):
        try:
            parse(text)
        except StatementUnavailable:
            continue
        raise AssertionError(f"accepted {text!r}")
