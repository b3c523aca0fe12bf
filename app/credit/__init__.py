"""Consumer credit (DOMAIN §8, §8.1): credit lines, installment plans, loans, bills and repayment."""

# the CREDIT channel's provider: the credit system itself, in-process (app/credit/payments.py)
PROVIDER = "credit"
