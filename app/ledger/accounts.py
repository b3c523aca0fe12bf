"""The ledger's accounts (DOMAIN §10, §10.1, §8.1). An account is a code and an owner: the
merchant, buyer or funder it belongs to, or 0 for the platform's own. Postings are signed,
debits positive; `NORMAL` says which side an account's balance grows on, so a balance reads
the way the business says it (a merchant's available balance of 100.00 is +10000, though its
postings are credits).
"""

from enum import StrEnum


class Account(StrEnum):
    # the platform's cash at the payment providers, and what buyers paid before it is split
    CASH = "CASH"
    CLEARING = "CLEARING"                                      # buyer payments clearing
    # per merchant (owner: merchant id)
    MERCHANT_PENDING = "MERCHANT_PENDING"                      # sold, not yet settled
    MERCHANT_AVAILABLE = "MERCHANT_AVAILABLE"                  # settled, may be withdrawn (may go negative)
    MERCHANT_WITHDRAWAL_RESERVED = "MERCHANT_WITHDRAWAL_RESERVED"   # asked for, not yet paid out
    MERCHANT_WITHDRAWAL_IN_TRANSIT = "MERCHANT_WITHDRAWAL_IN_TRANSIT"  # sent to the payout channel
    MERCHANT_REFUND_RECOVERY = "MERCHANT_REFUND_RECOVERY"      # refunds after settlement, deducted next run
    MERCHANT_DEPOSIT = "MERCHANT_DEPOSIT"                      # held apart, never withdrawable
    # the platform's income and costs
    PLATFORM_COMMISSION = "PLATFORM_COMMISSION"
    PLATFORM_SUBSIDY = "PLATFORM_SUBSIDY"                      # platform-funded discounts paid
    REFUNDS = "REFUNDS"                                        # refunds owed to buyers, until paid out
    PLATFORM_ADJUSTMENTS = "PLATFORM_ADJUSTMENTS"              # the platform's side of adjustments (补差)
    # consumer credit (DOMAIN §8.1; owner: buyer or funder id)
    CREDIT_RECEIVABLES = "CREDIT_RECEIVABLES"
    FUNDER = "FUNDER"
    CREDIT_FEE_INCOME = "CREDIT_FEE_INCOME"
    CREDIT_PENALTY_INCOME = "CREDIT_PENALTY_INCOME"
    OVERPAYMENT = "OVERPAYMENT"                                # 溢缴款 owed back to a buyer


DEBIT, CREDIT = 1, -1
# the side each account's balance grows on: assets and costs debit, what is owed to others and income credit
NORMAL: dict[Account, int] = {
    Account.CASH: DEBIT, Account.CLEARING: CREDIT,
    Account.MERCHANT_PENDING: CREDIT, Account.MERCHANT_AVAILABLE: CREDIT,
    Account.MERCHANT_WITHDRAWAL_RESERVED: CREDIT, Account.MERCHANT_WITHDRAWAL_IN_TRANSIT: CREDIT,
    Account.MERCHANT_REFUND_RECOVERY: DEBIT, Account.MERCHANT_DEPOSIT: CREDIT,
    Account.PLATFORM_COMMISSION: CREDIT, Account.PLATFORM_SUBSIDY: DEBIT, Account.REFUNDS: CREDIT,
    Account.PLATFORM_ADJUSTMENTS: DEBIT,
    Account.CREDIT_RECEIVABLES: DEBIT, Account.FUNDER: CREDIT,
    Account.CREDIT_FEE_INCOME: CREDIT, Account.CREDIT_PENALTY_INCOME: CREDIT, Account.OVERPAYMENT: CREDIT,
}
PLATFORM = 0          # the owner id of the platform's own accounts
