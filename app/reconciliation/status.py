"""A reconciliation difference's status machine: OPEN → RESOLVED (back office, with a note) or
CLEARED (a re-run no longer finds it); CLEARED → OPEN when a later re-run finds it again.
Events `RECONCILIATION_DIFFERENCE_<STATUS>` on topic "reconciliation"."""

from enum import StrEnum

from app.state_machine import StateMachine

TOPIC = "reconciliation"


class DifferenceStatus(StrEnum):
    OPEN = "OPEN"
    RESOLVED = "RESOLVED"
    CLEARED = "CLEARED"


class DifferenceAction(StrEnum):
    RESOLVE = "RESOLVE"
    CLEAR = "CLEAR"
    REOPEN = "REOPEN"


class DifferenceKind(StrEnum):
    MISSING_OURS = "MISSING_OURS"          # on the provider's statement, not in our books
    MISSING_THEIRS = "MISSING_THEIRS"      # in our books for the day, not on the statement
    AMOUNT_MISMATCH = "AMOUNT_MISMATCH"    # on both, with different amounts


D = DifferenceStatus
DIFFERENCE = StateMachine[DifferenceStatus, DifferenceAction](
    noun="difference", table="reconciliation_differences", history_table="reconciliation_difference_history",
    history_key="difference_id", topic=TOPIC, field="differenceId",
    transitions={
        DifferenceAction.RESOLVE: (frozenset({D.OPEN}), D.RESOLVED),
        DifferenceAction.CLEAR: (frozenset({D.OPEN}), D.CLEARED),
        DifferenceAction.REOPEN: (frozenset({D.CLEARED}), D.OPEN),
    },
    events={DifferenceAction.RESOLVE: "RECONCILIATION_DIFFERENCE_RESOLVED",
            DifferenceAction.CLEAR: "RECONCILIATION_DIFFERENCE_CLEARED",
            DifferenceAction.REOPEN: "RECONCILIATION_DIFFERENCE_OPEN"})
