"""(being written) GraphQL for the catalog: setup."""

import strawberry


@strawberry.type
class CatalogSetupQuery:
    pass


@strawberry.type
class CatalogSetupMutation:
    pass
