"""(being written) GraphQL for the catalog: browse."""

import strawberry


@strawberry.type
class BrowseQuery:
    pass


@strawberry.type
class BrowseMutation:
    pass
