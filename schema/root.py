"""The one GraphQL schema: every domain's queries, mutations and subscriptions merged."""

import strawberry
from strawberry.extensions import (
    MaskErrors,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    ValidationCache,
)

from app.config import Settings
from schema.auth import AuthMutation, AuthQuery
from schema.catalog.browse import BrowseMutation, BrowseQuery
from schema.catalog.products import ProductMutation, ProductQuery
from schema.catalog.setup import CatalogSetupMutation, CatalogSetupQuery
from schema.errors import should_mask_error
from schema.events import EventSubscription


@strawberry.type
class Query(AuthQuery, CatalogSetupQuery, ProductQuery, BrowseQuery):
    pass


@strawberry.type
class Mutation(AuthMutation, CatalogSetupMutation, ProductMutation, BrowseMutation):
    pass


@strawberry.type
class Subscription(EventSubscription):
    pass


def build_schema(settings: Settings) -> strawberry.Schema:
    extensions = [
        lambda: QueryDepthLimiter(max_depth=settings.max_query_depth),
        lambda: MaxAliasesLimiter(max_alias_count=settings.max_aliases),
        lambda: MaxTokensLimiter(max_token_count=settings.max_tokens),
        lambda: ParserCache(maxsize=256),
        lambda: ValidationCache(maxsize=256),
        lambda: MaskErrors(should_mask_error=should_mask_error),
    ]
    return strawberry.Schema(query=Query, mutation=Mutation, subscription=Subscription,
                             extensions=extensions)
