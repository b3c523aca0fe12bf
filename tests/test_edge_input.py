"""Bad input is refused with a code (BAD_REQUEST / INVALID_ID), never "Unexpected error." or
HTTP 500, whatever resolver it would have reached."""

import json

import pytest

LOGIN = 'mutation($p: String!) { buyerLogin(input: {phone: $p, password: "x"}) { accessToken } }'


async def _post(gql, raw: bytes, token: str | None = None):
    headers = {"content-type": "application/json"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    return await gql.http.post("/graphql", content=raw, headers=headers)


def _code(response) -> str:
    assert response.status_code in (200, 400), response.text
    return response.json()["errors"][0]["extensions"]["code"]


@pytest.mark.parametrize("body", [
    {"query": LOGIN, "variables": {"p": "138\u00000000001"}},                       # anonymous, a variable
    {"query": 'mutation { buyerLogin(input: {phone: "1\\u0000", password: "x"}) { accessToken } }'},
    {"query": '{ products(search: "a\\u0000b", first: 1) { totalCount } }'},         # a literal escape
    {"query": "mutation($i: BuyerLoginInput!) { buyerLogin(input: $i) { accessToken } }",   # nested
     "variables": {"i": {"phone": "138\u00000000001", "password": "x"}}},
])
async def test_nul_in_any_string_is_a_bad_request(gql, body):
    assert _code(await _post(gql, json.dumps(body).encode())) == "BAD_REQUEST"


@pytest.mark.parametrize("raw", [
    b'{"query": "query($s: String) { products(search: $s, first: 1) { totalCount } }", "variables": {"s": "\\ud800"}}',
    b'{"query": "{ products(search: \\"\\ud800\\", first: 1) { totalCount } }"}',
    b'{"query": "{ __typename \xff }"}',                                             # invalid UTF-8
    b'{"query": ',
])
async def test_lone_surrogates_and_broken_bodies_are_bad_requests(gql, raw):
    response = await _post(gql, raw)
    assert response.status_code == 400 and _code(response) == "BAD_REQUEST"


@pytest.mark.parametrize("literal", ["1.5", "99999999999999999999", "9007199254740992", '"5"', "true"])
async def test_money_literal_outside_whole_safe_integers_is_a_bad_request(gql, literal):
    body = await gql(f"{{ products(priceMin: {literal}, first: 1) {{ totalCount }} }}")
    assert body["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    assert "Money" in body["errors"][0]["message"]


async def test_money_literal_within_range_is_accepted(gql):
    await gql.ok("{ products(priceMin: 10000000000, first: 1) { totalCount } }")  # over GraphQL Int


async def test_malformed_id_argument_of_any_query_is_invalid_id(gql, tokens):
    body = await gql('{ freightTemplate(merchantId: "nope") { defaultFee } }', token=tokens["admin"])
    assert body["errors"][0]["extensions"]["code"] == "INVALID_ID"
    assert body["errors"][0]["message"] != "Unexpected error."

