"""The ledger and settlement's own failure codes; shared ones are `CommonError` (NOT_FOUND,
INVALID_VALUE, FORBIDDEN). docs/API.md lists them."""

from enum import StrEnum


class LedgerError(StrEnum):
    INVALID_CYCLE = "INVALID_CYCLE"          # settlement terms: a cycle other than DAILY, WEEKLY, MONTHLY
    INVALID_DELAY = "INVALID_DELAY"          # settlement terms: N outside 0..90 days
    INVALID_RUN_DAY = "INVALID_RUN_DAY"      # a run for a day that has not ended yet (UTC)
