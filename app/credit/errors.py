"""The credit domain's failure codes (docs/credit.md); also the common ones (NOT_FOUND, INVALID_VALUE)."""

from enum import StrEnum


class CreditError(StrEnum):
    ALREADY_HAS_CREDIT_LINE = "ALREADY_HAS_CREDIT_LINE"   # one line per buyer; its limit changes in the back office
    REAPPLY_TOO_SOON = "REAPPLY_TOO_SOON"                 # a rejected buyer applies again after credit_reapply_days
    INVALID_INCOME = "INVALID_INCOME"                     # monthly income is 0 .. ¥10,000,000 in cents
    INVALID_DUE_DAY = "INVALID_DUE_DAY"                   # the due day is 1 to 28
    NO_CREDIT_LINE = "NO_CREDIT_LINE"                     # the buyer has no credit line
    INVALID_LIMIT = "INVALID_LIMIT"                       # a limit is 0 .. ¥1,000,000 in cents
    INVALID_PLAN = "INVALID_PLAN"                         # periods 3/6/9/12, rate 0..100 %, amounts ordered
    INVALID_OFFER = "INVALID_OFFER"                       # an interest-free offer's periods, dates or subsidiser
    INVALID_FUNDER = "INVALID_FUNDER"                     # a funder's kind, capital, maximum, periods or minimum tier
    FUNDER_NAME_TAKEN = "FUNDER_NAME_TAKEN"               # funders' names are unique
    LOAN_NOT_ACTIVE = "LOAN_NOT_ACTIVE"                   # the loan is paid off or closed
    INVALID_REPAYMENT = "INVALID_REPAYMENT"               # a repayment is 1 cent up to what the loan owes


class CreditApprovalError(StrEnum):
    """Why the cashier refuses a CREDIT payment, in the order the approval checks (createPayment
    reports them with the payment codes)."""
    INSTALLMENT_PERIODS_REQUIRED = "INSTALLMENT_PERIODS_REQUIRED"   # CREDIT needs installmentPeriods (3/6/9/12)
    NO_CREDIT_LINE = "NO_CREDIT_LINE"                     # apply for a credit line first
    CREDIT_REFUSED = "CREDIT_REFUSED"                     # risk refuses credit to this buyer (never says why)
    OVERDUE_BILLS = "OVERDUE_BILLS"                       # an overdue bill blocks new credit payments until repaid
    INSUFFICIENT_LIMIT = "INSUFFICIENT_LIMIT"             # the available limit is below the payment
    PLAN_NOT_AVAILABLE = "PLAN_NOT_AVAILABLE"             # no such plan for this amount, tier or these goods
