"""What a reconciliation request can fail with (docs/API.md, "Error codes: Reconciliation")."""

from enum import StrEnum


class ReconciliationError(StrEnum):
    NOTE_REQUIRED = "NOTE_REQUIRED"                  # resolving a difference needs a note (1 to 500 characters)
    STATEMENT_UNAVAILABLE = "STATEMENT_UNAVAILABLE"  # the provider's statement could not be downloaded
