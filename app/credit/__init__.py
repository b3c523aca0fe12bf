"""Consumer credit (DOMAIN §8, §8.1): credit lines, installment plans, loans, bills and repayment."""
