"""The listing and the detail load the relations a query selects before its fields resolve;
which ones is read from the query's syntax tree, through fragments."""

from graphql import parse

from schema.catalog.browse import _names_below

QUERY = """
query($first: Int!) { products(first: $first) {
  totalCount
  edges { cursor node { id ...Card ... on Product { skus { id } stockState } } }
} }
fragment Card on Product { title brand { nameZh } ...More }
fragment More on Product { frontendCategories { name } }
"""


def test_selected_relations_through_fragments():
    document = parse(QUERY)
    fragments = {d.name.value: d for d in document.definitions[1:]}
    products = document.definitions[0].selection_set.selections[0]
    assert _names_below([products], ("edges", "node"), fragments) == {
        "id", "title", "brand", "frontendCategories", "skus", "stockState"}
    assert _names_below([products], (), fragments) == {"totalCount", "edges"}
    assert _names_below([products], ("pageInfo",), fragments) == set()
