"""Schema fuzzing (schemathesis GraphQL mode): generated queries and mutations, valid and
invalid, from an anonymous caller, a buyer, a merchant owner and an admin, against the real app
over the demo data. No answer may be a bug: no HTTP 5xx, no masked "Unexpected error." (`INTERNAL`), no
`SERVICE_UNAVAILABLE` (the services are up).

Bounded for the suite: FUZZ_EXAMPLES requests (default 1) of every operation per caller and
mode, with a fixed seed (FUZZ_SEED), ~700 requests in all. The exploratory run enlarges it:
`FUZZ_EXAMPLES=20 pytest tests/test_fuzz.py` (~3,500 requests per caller).
"""

import json
import os

import graphql
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, seed
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from schemathesis.generation import GenerationMode
from schemathesis.graphql import nodes
from schemathesis.python import asgi as schemathesis_asgi

from app.ids import encode_id
from schema.scalars import MAX_SAFE_INTEGER

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "1"))
SEED = int(os.environ.get("FUZZ_SEED", "8"))
SHOWN_FAILURES = 2  # request bodies shown per distinct failure
# Operations that end the caller's own session: later operations would all be refused as
# unauthenticated and fuzz nothing.
SESSION_ENDING = ["Mutation.logout"]

# Id arguments get the ids of demo objects (small primary keys) of the type their name says
# (`with_demo_ids`), so generated operations get past id decoding into the services.
ID_TYPES = ["Attribute", "AttributeValue", "BackendCategory", "Brand", "Buyer", "Category", "Coupon",
            "CouponTemplate", "FrontendCategory", "Merchant", "Order", "OrderLine", "Payment", "PaymentNotification",
            "PaymentOrder", "Product", "Promotion", "Refund", "Review", "RiskDecision", "Sku", "Upload", "Warehouse"]
ID_NAMES = {"category": ["BackendCategory", "Category", "FrontendCategory"], "parent": ["BackendCategory",
            "FrontendCategory"], "value": ["AttributeValue"], "specValue": ["AttributeValue"],
            "template": ["CouponTemplate"], "giftSku": ["Sku"], "image": ["Upload"]}
# Our custom scalars, as literals their parsers accept (invalid mode makes them wrong).
schemathesis.graphql.scalar("Money", st.integers(-MAX_SAFE_INTEGER, MAX_SAFE_INTEGER).map(nodes.Int))
schemathesis.graphql.scalar("Decimal", st.decimals(allow_nan=False, allow_infinity=False, places=2)
                            .map(lambda d: nodes.String(str(d))))


@pytest.fixture(scope="module")
def schema(settings, tokens):
    """The schema as an admin sees it (introspection on), served by an app of its own: schemathesis
    runs the ASGI app, its lifespan included, on its own event loop thread."""
    from schema.server import create_app
    loaded = schemathesis.graphql.from_asgi("/graphql", create_app(settings),
                                            headers={"authorization": f"Bearer {tokens['admin']}"})
    yield loaded.exclude(name=SESSION_ENDING)
    schemathesis_asgi.shutdown_lifespans()


def unexpected(response, signed_in: bool) -> str | None:
    """Why this answer is a bug, or None. A signed-in caller is never unauthenticated: that would
    mean an operation ended its session and the rest of the run fuzzed nothing."""
    if response.status_code >= 500:
        return f"HTTP {response.status_code}: {response.text[:300]}"
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code}, not JSON: {response.text[:300]}"
    for error in body.get("errors") or [] if isinstance(body, dict) else []:
        code = (error.get("extensions") or {}).get("code")
        if code in ("INTERNAL", "SERVICE_UNAVAILABLE") or not code or (signed_in and code == "UNAUTHENTICATED"):
            return f"{code or 'no code'} at {error.get('path')}: {error.get('message')}"
    return None


def id_types(argument: str, root_field: str) -> list[str]:
    """The types an id argument may name: `merchantId`/`skuIds` say it, `id` takes the type its
    operation names (`updateWarehouse` → Warehouse)."""
    if argument == "id":
        named = [t for t in ID_TYPES if t.lower() in root_field.lower()]
        return [max(named, key=len)] if named else []
    stem = argument.removesuffix("s").removesuffix("Id")
    return ID_NAMES.get(stem) or [t for t in ID_TYPES if t.lower() == stem.lower()]


def with_demo_ids(query: str, rnd) -> str:
    """`query` with most string values of id arguments replaced by demo objects' ids."""
    try:
        document = graphql.parse(query)
    except graphql.GraphQLSyntaxError:
        return query
    operation = document.definitions[0]
    root_field = operation.selection_set.selections[0].name.value

    class Substitute(graphql.Visitor):
        def substitute(self, node, *_):
            name = node.name.value
            if not (name == "id" or name.endswith(("Id", "Ids"))) or rnd.random() < 0.2:
                return None
            types = id_types(name, root_field)
            if not types:
                return None

            def demo_id(value):
                if isinstance(value, graphql.StringValueNode):
                    return graphql.StringValueNode(value=encode_id(rnd.choice(types), rnd.randint(1, 40)))
                return value
            value = node.value
            if isinstance(value, graphql.ListValueNode):
                value = graphql.ListValueNode(values=tuple(demo_id(v) for v in value.values))
            return node.__class__(name=node.name, value=demo_id(value))

        enter_argument = enter_object_field = substitute

    return graphql.print_ast(graphql.visit(document, Substitute()))


def fuzz(schema, mode: GenerationMode, headers: dict) -> tuple[int, dict[str, list[str]]]:
    """Runs EXAMPLES generated requests of every operation; returns how many ran and the failing
    request bodies by what went wrong."""
    ran, failures = 0, {}

    def call(case, rnd) -> None:
        nonlocal ran
        ran += 1
        case.body = with_demo_ids(case.body, rnd)
        response = case.call(headers=headers)
        problem = unexpected(response, signed_in="authorization" in headers)
        if problem:
            failures.setdefault(problem, []).append(json.dumps(case.body, ensure_ascii=False))

    for result in schema.get_all_operations():
        operation = result.ok()
        probe = given(case=operation.as_strategy(generation_mode=mode), rnd=st.randoms())(call)
        seed(SEED)(hypothesis_settings(max_examples=EXAMPLES, database=None, deadline=None, phases=[Phase.generate],
                                       suppress_health_check=list(HealthCheck))(probe))()
    return ran, failures


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=["valid", "invalid"])
@pytest.mark.parametrize("caller", ["anonymous", "buyer", "acme", "admin"])
def test_no_generated_operation_is_an_unexpected_error(schema, tokens, caller, mode):
    headers = {} if caller == "anonymous" else {"authorization": f"Bearer {tokens[caller]}"}
    ran, failures = fuzz(schema, mode, headers)
    operations = sum(1 for _ in schema.get_all_operations())
    assert ran >= operations * EXAMPLES // 2, f"only {ran} requests generated for {operations} operations"
    failed = sum(map(len, failures.values()))
    print(f"fuzz {caller} {mode.value}: {ran} requests over {operations} operations, {failed} unexpected")
    assert not failures, f"{failed} of {ran} requests failed as {caller}:\n" + "\n".join(
        f"- {problem} ({len(bodies)}x), e.g.\n    " + "\n    ".join(bodies[:SHOWN_FAILURES])
        for problem, bodies in failures.items())
