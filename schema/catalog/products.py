"""(being written) GraphQL for the catalog: products."""

import strawberry


@strawberry.type
class ProductQuery:
    pass


@strawberry.type
class ProductMutation:
    pass
