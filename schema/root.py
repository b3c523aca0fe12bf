"""The one GraphQL schema: every domain's queries, mutations and subscriptions merged."""

import strawberry
from strawberry.extensions import (
    AddValidationRules,
    DisableIntrospection,
    MaxAliasesLimiter,
    QueryDepthLimiter,
    ValidationCache,
)
from strawberry.schema.config import StrawberryConfig

from app.config import Settings
from schema.accounts import AccountMutation, AccountQuery, AccountSubscription
from schema.aftersale import AfterSaleMutation, AfterSaleQuery, AfterSaleSubscription
from schema.auth import AuthMutation, AuthQuery
from schema.cart import CartMutation, CartQuery
from schema.catalog.browse import BrowseQuery
from schema.catalog.products import ProductMutation, ProductQuery
from schema.catalog.setup import CatalogSetupMutation, CatalogSetupQuery
from schema.credit import CreditMutation, CreditQuery, CreditSubscription
from schema.errors import ApiSchema, CodedMaskErrors
from schema.events import EventSubscription
from schema.execution import FastLeafExecutionContext
from schema.fulfilment import FulfilmentMutation, FulfilmentQuery, FulfilmentSubscription
from schema.ledger import LedgerMutation, LedgerQuery, LedgerSubscription
from schema.limits import BoundedParserCache
from schema.merchants import MerchantMutation, MerchantQuery, MerchantSubscription
from schema.orders import OrderMutation, OrderQuery, OrderSubscription
from schema.payments import PaymentMutation, PaymentQuery
from schema.payouts import PayoutMutation, PayoutQuery, PayoutSubscription
from schema.pricing import CheckoutQuery
from schema.promotions import PromotionMutation, PromotionQuery
from schema.reconciliation import ReconciliationMutation, ReconciliationQuery, ReconciliationSubscription
from schema.reviews import ReviewMutation, ReviewQuery, ReviewSubscription
from schema.risk import RiskMutation, RiskQuery
from schema.scalars import SCALARS
from schema.supply import SupplyMutation, SupplyQuery, SupplySubscription


@strawberry.type
class Query(AuthQuery, CatalogSetupQuery, ProductQuery, BrowseQuery, CartQuery, CheckoutQuery, PromotionQuery, OrderQuery,
            PaymentQuery, RiskQuery, SupplyQuery, AfterSaleQuery, FulfilmentQuery, ReviewQuery, AccountQuery,
            CreditQuery, MerchantQuery, PayoutQuery, ReconciliationQuery, LedgerQuery):
    pass


@strawberry.type
class Mutation(AuthMutation, CatalogSetupMutation, ProductMutation, CartMutation, PromotionMutation, OrderMutation,
               PaymentMutation, RiskMutation, SupplyMutation, AfterSaleMutation, FulfilmentMutation, ReviewMutation,
               AccountMutation, CreditMutation, MerchantMutation, PayoutMutation, ReconciliationMutation, LedgerMutation):
    pass


@strawberry.type
class Subscription(EventSubscription, OrderSubscription, SupplySubscription, AfterSaleSubscription,
                   FulfilmentSubscription, ReviewSubscription, AccountSubscription, MerchantSubscription,
                   PayoutSubscription, ReconciliationSubscription, CreditSubscription, LedgerSubscription):
    pass


def _rules_once(limiter: AddValidationRules):
    """A limiter builds a new rule class per instance, and the rule classes are part of
    ValidationCache's key: built once per schema, repeated queries skip validation."""
    rules = limiter.validation_rules
    return lambda: AddValidationRules(rules)


def build_schema(settings: Settings, introspection: bool = True) -> strawberry.Schema:
    """`introspection=False` gives the production schema for everyone but admins: no
    introspection, and no "Did you mean …" hints naming the schema's types and fields."""
    extensions = [
        _rules_once(QueryDepthLimiter(max_depth=settings.max_query_depth)),
        _rules_once(MaxAliasesLimiter(max_alias_count=settings.max_aliases)),
        lambda: BoundedParserCache(settings.max_tokens),
        lambda: ValidationCache(maxsize=256),
        lambda: CodedMaskErrors(hide_suggestions=not introspection),
    ]
    if not introspection:
        extensions.append(DisableIntrospection)
    return ApiSchema(query=Query, mutation=Mutation, subscription=Subscription,
                     extensions=extensions, config=StrawberryConfig(scalar_map=SCALARS),
                     execution_context_class=FastLeafExecutionContext)


def sdl() -> str:
    """The schema as clients see it (admins' variant: with introspection), ending in a newline."""
    return build_schema(Settings(_env_file=None)).as_str()  # type: ignore[call-arg]  # pydantic-settings' init option, not in its signature + "\n"
