async def test_healthz_and_readyz(gql):
    assert (await gql.http.get("/healthz")).text == "ok"
    ready = await gql.http.get("/readyz")
    assert ready.status_code == 200 and ready.json() == {"database": "ok", "redis": "ok"}


async def test_request_id_is_returned_and_sanitised(gql):
    r = await gql.http.get("/healthz", headers={"x-request-id": "abc-123"})
    assert r.headers["x-request-id"] == "abc-123"
    r = await gql.http.get("/healthz", headers={"x-request-id": "bad id\twith spaces"})
    assert r.headers["x-request-id"] != "bad id\twith spaces" and len(r.headers["x-request-id"]) == 32


async def test_oversized_body_is_refused(gql):
    r = await gql.http.post("/graphql", content=b"{" + b" " * 300_000 + b"}",
                            headers={"content-type": "application/json"})
    assert r.status_code == 413


async def test_alias_and_token_limits(gql):
    aliases = "{ " + " ".join(f"a{i}: __typename" for i in range(31)) + " }"
    body = await gql(aliases)
    assert body["errors"] and "aliases" in body["errors"][0]["message"].lower()
    huge = "{ " + " ".join(["__typename"] * 2500) + " }"
    body = await gql(huge)
    assert body["errors"] and "token" in body["errors"][0]["message"].lower()


async def test_refused_requests_carry_a_code(gql):
    body = await gql("{ nope }")
    assert body["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    body = await gql("{ products(")   # a syntax error is raised while parsing, outside execution
    assert body["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    body = await gql('query($p: Money) { products(priceMin: $p, first: 1) { totalCount } }', {"p": 2**60})
    assert body["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
