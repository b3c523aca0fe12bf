"""The withdrawal's status machine (app/state_machine.py): transitions as data, events
`WITHDRAWAL_<STATUS>` on topic "payouts" for the withdrawal's merchant."""

from enum import StrEnum

from app.state_machine import StateMachine

TOPIC = "payouts"


class WithdrawalStatus(StrEnum):
    REQUESTED = "REQUESTED"      # the amount is reserved; awaiting back-office review
    APPROVED = "APPROVED"        # the payout job sends it to the channel
    IN_TRANSIT = "IN_TRANSIT"    # the channel accepted it; its callback says how it ended
    PAID = "PAID"
    FAILED = "FAILED"            # the channel refused or failed it: the money is available again
    REJECTED = "REJECTED"        # the back office refused it (with a reason): the money is available again


class WithdrawalAction(StrEnum):
    APPROVE = "APPROVE"
    REJECT = "REJECT"
    SEND = "SEND"
    PAY = "PAY"
    FAIL = "FAIL"


S = WithdrawalStatus
WITHDRAWAL = StateMachine[WithdrawalStatus, WithdrawalAction](
    noun="withdrawal", table="withdrawals", history_table="withdrawal_status_history", history_key="withdrawal_id",
    topic=TOPIC, field="withdrawalId",
    transitions={
        WithdrawalAction.APPROVE: (frozenset({S.REQUESTED}), S.APPROVED),
        WithdrawalAction.REJECT: (frozenset({S.REQUESTED}), S.REJECTED),
        WithdrawalAction.SEND: (frozenset({S.APPROVED}), S.IN_TRANSIT),
        WithdrawalAction.PAY: (frozenset({S.IN_TRANSIT}), S.PAID),
        WithdrawalAction.FAIL: (frozenset({S.APPROVED, S.IN_TRANSIT}), S.FAILED),
    },
    events={WithdrawalAction.APPROVE: "WITHDRAWAL_APPROVED", WithdrawalAction.REJECT: "WITHDRAWAL_REJECTED",
            WithdrawalAction.SEND: "WITHDRAWAL_IN_TRANSIT", WithdrawalAction.PAY: "WITHDRAWAL_PAID",
            WithdrawalAction.FAIL: "WITHDRAWAL_FAILED"})

