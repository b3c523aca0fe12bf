"""The status machines of shops and of merchant applications (app/state_machine.py).

Shop: PENDING_DEPOSIT (approved, deposit unpaid) → OPEN ⇄ SUSPENDED; OPEN or SUSPENDED → CLOSED.
Application: PENDING_REVIEW → APPROVED | REJECTED; APPROVED → OPENED once the deposit is paid.
Both topic `merchant`, so the merchant console and the back office follow onboarding on one
subscription; a shop's events carry its id as the merchant."""

from enum import StrEnum

from app.state_machine import StateMachine


class MerchantStatus(StrEnum):
    PENDING_DEPOSIT = "PENDING_DEPOSIT"
    OPEN = "OPEN"
    SUSPENDED = "SUSPENDED"
    CLOSED = "CLOSED"


class MerchantAction(StrEnum):
    OPEN = "OPEN"
    SUSPEND = "SUSPEND"
    REACTIVATE = "REACTIVATE"
    CLOSE = "CLOSE"


S, A = MerchantStatus, MerchantAction
MERCHANT_MACHINE: StateMachine[MerchantStatus, MerchantAction] = StateMachine(
    noun="shop", table="merchants", history_table="merchant_status_history", history_key="merchant_id",
    topic="merchant", field="merchantId", merchant_column="id",
    transitions={
        A.OPEN: (frozenset({S.PENDING_DEPOSIT}), S.OPEN),
        A.SUSPEND: (frozenset({S.OPEN}), S.SUSPENDED),
        A.REACTIVATE: (frozenset({S.SUSPENDED}), S.OPEN),
        A.CLOSE: (frozenset({S.OPEN, S.SUSPENDED}), S.CLOSED),
    },
    events={A.OPEN: "MERCHANT_OPENED", A.SUSPEND: "MERCHANT_SUSPENDED", A.REACTIVATE: "MERCHANT_REACTIVATED",
            A.CLOSE: "MERCHANT_CLOSED"})


class ApplicationStatus(StrEnum):
    PENDING_REVIEW = "PENDING_REVIEW"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"
    OPENED = "OPENED"


class ApplicationAction(StrEnum):
    APPROVE = "APPROVE"
    REJECT = "REJECT"
    OPEN = "OPEN"


AS, AA = ApplicationStatus, ApplicationAction
APPLICATION_MACHINE: StateMachine[ApplicationStatus, ApplicationAction] = StateMachine(
    noun="merchant application", table="merchant_applications", history_table="merchant_application_history",
    history_key="application_id", topic="merchant", field="applicationId",
    transitions={
        AA.APPROVE: (frozenset({AS.PENDING_REVIEW}), AS.APPROVED),
        AA.REJECT: (frozenset({AS.PENDING_REVIEW}), AS.REJECTED),
        AA.OPEN: (frozenset({AS.APPROVED}), AS.OPENED),
    },
    events={AA.APPROVE: "MERCHANT_APPLICATION_APPROVED", AA.REJECT: "MERCHANT_APPLICATION_REJECTED",
            AA.OPEN: "MERCHANT_APPLICATION_OPENED"})
