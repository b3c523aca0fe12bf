"""The public contract: the committed SDL is the schema, and the API guide covers it.

A change to the schema is a deliberate act: regenerate `schema.graphql` with
`ecom schema > schema.graphql`, review the diff, and say in docs/API.md what changed."""

import re

from app.config import PROJECT_ROOT, Settings
from schema.root import build_schema, sdl

GUIDE = (PROJECT_ROOT / "docs" / "API.md").read_text()


def test_schema_matches_the_committed_sdl():
    committed = (PROJECT_ROOT / "schema.graphql").read_text()
    assert sdl() == committed, "the schema drifted from schema.graphql: run `ecom schema > schema.graphql`"


def _graphql_schema():
    return build_schema(Settings(_env_file=None))._schema


def test_the_api_guide_names_every_operation():
    schema = _graphql_schema()
    named = set(re.findall(r"\w+", GUIDE))
    missing = [f"{root.name}.{name}" for root in (schema.query_type, schema.mutation_type, schema.subscription_type)
               for name in root.fields if name not in named]
    assert missing == [], f"docs/API.md does not mention: {missing}"


def test_the_api_guide_lists_every_error_code():
    schema = _graphql_schema()
    missing = sorted({f"{t.name}.{v}" for t in schema.type_map.values()
                      if t.name.endswith("ErrorCode") and hasattr(t, "values")
                      for v in t.values if f"`{v}`" not in GUIDE})
    assert missing == [], f"docs/API.md does not explain: {missing}"


def test_spelled_out_enums_keep_their_domains_members():
    """PaymentChannel, PromotionAction, BlacklistKind are written as classes (so the type checker
    sees their members); their domain lists stay the one source, and these must follow them."""
    from app.promotions.lifecycle import OWNER_ACTIONS
    from app.promotions.rules import PAYMENT_CHANNELS
    from app.risk.blacklist import KINDS
    from schema.pricing import PaymentChannel
    from schema.promotions import StatusAction
    from schema.risk import BlacklistKind

    assert [c.value for c in PaymentChannel] == list(PAYMENT_CHANNELS)
    assert [a.value for a in StatusAction] == [a.value for a in OWNER_ACTIONS]
    assert [k.value for k in BlacklistKind] == list(KINDS)
