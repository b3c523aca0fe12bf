"""`CatalogError { field code message }`: the userErrors item of every catalog payload, its
`code` a `CatalogErrorCode` (the common codes, app/catalog/errors.py's and the shop failures the
catalog passes on)."""

from app.catalog.errors import CatalogError
from app.merchants.errors import ShopError
from schema.errors import user_error_type

CatalogUserError = user_error_type("Catalog", CatalogError, ShopError)
