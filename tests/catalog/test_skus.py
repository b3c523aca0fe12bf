"""The pure SKU rules: the grid is the cartesian product of the sales values, and the given
SKUs must cover it exactly, with sane codes and prices."""

from hypothesis import given
from hypothesis import strategies as st

from app.catalog.skus import MAX_PRICE, SalesAxis, SkuDraft, match_skus, price_problems, sku_matrix

COLOUR = SalesAxis(attribute_id=10, sort=1, values=((101, "黑色"), (102, "白色")))
MEMORY = SalesAxis(attribute_id=20, sort=2, values=((201, "128GB"), (202, "256GB"), (203, "512GB")))


def codes(problems):
    return [(p.code, p.field) for p in problems]


def test_matrix_is_the_cartesian_product_labelled_in_attribute_order():
    cells = sku_matrix([MEMORY, COLOUR])  # input order does not matter, attribute sort does
    assert [c.label for c in cells] == ["黑色 / 128GB", "黑色 / 256GB", "黑色 / 512GB",
                                        "白色 / 128GB", "白色 / 256GB", "白色 / 512GB"]
    assert cells[1].spec_value_ids == (101, 202)


def test_attribute_sort_ties_break_on_attribute_id():
    a = SalesAxis(attribute_id=7, sort=0, values=((1, "S"),))
    b = SalesAxis(attribute_id=3, sort=0, values=((2, "红"),))
    assert sku_matrix([a, b])[0].label == "红 / S"


def test_no_sales_attribute_means_exactly_one_sku():
    cells = sku_matrix([])
    assert len(cells) == 1 and cells[0].spec_value_ids == () and cells[0].label == ""
    matched, problems = match_skus(cells, [SkuDraft((), "ONE", 100)])
    assert problems == [] and matched == cells
    _, problems = match_skus(cells, [])
    assert codes(problems) == [("MISSING_SKU", ("skus",))]


def test_exact_cover_matches_each_sku_to_its_cell():
    cells = sku_matrix([COLOUR, MEMORY])
    skus = [SkuDraft((m, c), f"SKU-{c}-{m}", 100_00) for c, _ in COLOUR.values for m, _ in MEMORY.values]
    matched, problems = match_skus(cells, skus)
    assert problems == []
    assert [m.label for m in matched] == [c.label for c in cells]


def test_missing_unknown_duplicate_combinations_and_codes():
    cells = sku_matrix([COLOUR, MEMORY])
    skus = [SkuDraft((101, 201), "A", 100), SkuDraft((201, 101), "B", 100),     # same cell twice
            SkuDraft((101, 999), "C", 100), SkuDraft((101,), "D", 100),         # unknown value, too few
            SkuDraft((101, 102), "E", 100), SkuDraft((102, 201), "A", 100)]     # two colours; code reused
    _, problems = match_skus(cells, skus)
    assert ("DUPLICATE_COMBINATION", ("skus", "1", "specValueIds")) in codes(problems)
    for i in ("2", "3", "4"):
        assert ("UNKNOWN_COMBINATION", ("skus", i, "specValueIds")) in codes(problems)
    assert ("DUPLICATE_SKU_CODE", ("skus", "5", "code")) in codes(problems)
    missing = [p.message for p in problems if p.code == "MISSING_SKU"]
    assert len(missing) == 4 and any("白色 / 512GB" in m for m in missing)


def test_a_value_repeated_in_one_sku_is_not_a_combination():
    cells = sku_matrix([SalesAxis(1, 0, ((5, "红"),))])
    _, problems = match_skus(cells, [SkuDraft((5, 5), "X", 100)])
    assert ("UNKNOWN_COMBINATION", ("skus", "0", "specValueIds")) in codes(problems)


def test_price_rules():
    assert price_problems(1, None, None, None, ()) == []
    assert price_problems(MAX_PRICE, MAX_PRICE, MAX_PRICE, 0, ()) == []
    assert codes(price_problems(0, None, None, None, ("s",))) == [("INVALID_PRICE", ("s", "price"))]
    assert codes(price_problems(-5, None, None, None, ())) == [("INVALID_PRICE", ("price",))]
    assert codes(price_problems(MAX_PRICE + 1, None, None, None, ())) == [("INVALID_PRICE", ("price",))]
    assert codes(price_problems(100, 99, None, None, ())) == [("INVALID_PRICE", ("listPrice",))]
    assert codes(price_problems(100, None, 101, 1, ())) == [("INVALID_PRICE", ("memberPrice",))]
    assert codes(price_problems(100, None, 0, 1, ())) == [("INVALID_PRICE", ("memberPrice",))]
    assert codes(price_problems(100, None, 90, None, ())) == [("INVALID_MEMBER_PRICE", ("memberLevel",))]
    assert codes(price_problems(100, None, None, 2, ())) == [("INVALID_MEMBER_PRICE", ("memberPrice",))]


def test_sku_field_rules():
    cells = sku_matrix([])
    bad = SkuDraft((), ".hidden", 100, weight_grams=-1, purchase_limit=0)
    _, problems = match_skus(cells, [bad])
    assert codes(problems) == [("INVALID_SKU_CODE", ("skus", "0", "code")),
                               ("INVALID_WEIGHT", ("skus", "0", "weightGrams")),
                               ("INVALID_PURCHASE_LIMIT", ("skus", "0", "purchaseLimit"))]
    _, problems = match_skus(cells, [SkuDraft((), "中文编码", 100)])
    assert codes(problems) == [("INVALID_SKU_CODE", ("skus", "0", "code"))]


axes = st.lists(st.integers(1, 4), min_size=0, max_size=4).map(
    lambda sizes: [SalesAxis(i + 1, sizes[i] % 2, tuple((100 * (i + 1) + j, f"v{i}{j}") for j in range(n)))
                   for i, n in enumerate(sizes)])


@given(axes)
def test_grid_size_is_the_product_and_every_cell_is_distinct(ax):
    cells = sku_matrix(ax)
    expected = 1
    for a in ax:
        expected *= len(a.values)
    assert len(cells) == expected == len({c.spec_value_ids for c in cells})
    assert all(len(c.spec_value_ids) == len(ax) and list(c.spec_value_ids) == sorted(c.spec_value_ids)
               for c in cells)


@given(axes, st.data())
def test_dropping_any_sku_reports_exactly_that_cell_missing(ax, data):
    cells = sku_matrix(ax)
    skus = [SkuDraft(tuple(reversed(c.spec_value_ids)), f"C{n}", 100) for n, c in enumerate(cells)]
    drop = data.draw(st.integers(0, len(skus) - 1))
    _, problems = match_skus(cells, skus[:drop] + skus[drop + 1:])
    assert [p.code for p in problems] == ["MISSING_SKU"]
    assert cells[drop].label in problems[0].message or cells[drop].label == ""
