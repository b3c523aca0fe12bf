"""`CatalogError { field code message }`: the userErrors item of every catalog payload, its
`code` a `CatalogErrorCode` (the common codes and app/catalog/errors.py's)."""

from app.catalog.errors import CatalogError
from schema.errors import user_error_type

CatalogUserError = user_error_type("Catalog", CatalogError)
