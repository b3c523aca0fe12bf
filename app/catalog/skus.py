"""SKU matrix rules (DOMAIN §2), pure: the SKUs of a product are exactly the cartesian product
of its chosen sales-attribute values, and each SKU's code and prices must make sense.

`sku_matrix` generates the combinations; `match_skus` checks a merchant's SKU list against
them and returns every problem at once, with the input path of each, so a console can mark
every bad cell of its grid in one round trip.
"""

import itertools
import re
from dataclasses import dataclass

from app.catalog.errors import CatalogError
from app.errors import Problem

MAX_PRICE = 10_000_000_000          # cents; the `skus.price` CHECK
MAX_WEIGHT_GRAMS = 10_000_000
MAX_SKUS = 600                      # per product: a larger grid is a data-entry accident
MAX_PURCHASE_LIMIT = 1_000_000
MAX_MEMBER_LEVEL = 100
# The DB allows [A-Za-z0-9_.-]; a code must also start with a letter or digit, which keeps
# '.'-prefixed names free for the temporary codes used while swapping codes (products.py).
SKU_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


@dataclass(frozen=True)
class SalesAxis:
    """One sales attribute with the values a product offers, in display order."""
    attribute_id: int
    sort: int
    values: tuple[tuple[int, str], ...]   # (value id, value text)


@dataclass(frozen=True)
class SkuCombination:
    spec_value_ids: tuple[int, ...]       # sorted ascending: the key stored in `skus`
    label: str                            # value texts in attribute order, e.g. '黑色 / 256GB'


@dataclass(frozen=True)
class SkuDraft:
    spec_value_ids: tuple[int, ...]
    code: str
    price: int
    list_price: int | None = None
    member_price: int | None = None
    member_level: int | None = None
    weight_grams: int = 0
    image_url: str | None = None
    purchase_limit: int | None = None
    recharge_account_kind: str | None = None   # virtual goods: PHONE (default) or EMAIL


def matrix_size(axes: list[SalesAxis]) -> int:
    size = 1
    for axis in axes:
        size *= len(axis.values)
    return size


def sku_matrix(axes: list[SalesAxis]) -> list[SkuCombination]:
    """Every combination, attributes ordered by their sort then id; no axis means one SKU."""
    ordered = sorted(axes, key=lambda a: (a.sort, a.attribute_id))
    return [SkuCombination(tuple(sorted(vid for vid, _ in combo)), " / ".join(text for _, text in combo))
            for combo in itertools.product(*(a.values for a in ordered))]


def price_problems(price: int, list_price: int | None, member_price: int | None,
                   member_level: int | None, path: tuple[str, ...]) -> list[Problem]:
    """Prices are positive cents up to MAX_PRICE; list ≥ price ≥ member; member price needs a level."""
    problems = []
    if not 0 < price <= MAX_PRICE:
        problems.append(Problem(CatalogError.INVALID_PRICE, f"price must be between 1 and {MAX_PRICE} cents",
                                (*path, "price")))
    if list_price is not None and not price <= list_price <= MAX_PRICE:
        problems.append(Problem(CatalogError.INVALID_PRICE, "list price must be at least the price",
                                (*path, "listPrice")))
    if member_price is not None and not 0 < member_price <= price:
        problems.append(Problem(CatalogError.INVALID_PRICE, "member price must be positive and at most the price",
                                (*path, "memberPrice")))
    if (member_price is None) != (member_level is None):
        problems.append(Problem(CatalogError.INVALID_MEMBER_PRICE, "give a member price and a member level together",
                                (*path, "memberLevel" if member_level is None else "memberPrice")))
    elif member_level is not None and not 0 <= member_level <= MAX_MEMBER_LEVEL:
        problems.append(Problem(CatalogError.INVALID_MEMBER_PRICE, f"member level must be 0 to {MAX_MEMBER_LEVEL}",
                                (*path, "memberLevel")))
    return problems


def _sku_field_problems(sku: SkuDraft, path: tuple[str, ...]) -> list[Problem]:
    problems = []
    if not SKU_CODE.match(sku.code):
        problems.append(Problem(CatalogError.INVALID_SKU_CODE,
                                "SKU code: 1 to 64 letters, digits, '_', '.', '-', starting with a letter or digit",
                                (*path, "code")))
    problems += price_problems(sku.price, sku.list_price, sku.member_price, sku.member_level, path)
    if not 0 <= sku.weight_grams <= MAX_WEIGHT_GRAMS:
        problems.append(Problem(CatalogError.INVALID_WEIGHT, f"weight must be 0 to {MAX_WEIGHT_GRAMS} grams",
                                (*path, "weightGrams")))
    if sku.purchase_limit is not None and not 0 < sku.purchase_limit <= MAX_PURCHASE_LIMIT:
        problems.append(Problem(CatalogError.INVALID_PURCHASE_LIMIT, "purchase limit must be positive",
                                (*path, "purchaseLimit")))
    return problems


def match_skus(matrix: list[SkuCombination], skus: list[SkuDraft],
               path: tuple[str, ...] = ("skus",)) -> tuple[list[SkuCombination | None], list[Problem]]:
    """Pair each given SKU with its combination and list every problem.

    Returns the combination per SKU (None where it matches none) and the problems: fields,
    UNKNOWN_COMBINATION, DUPLICATE_COMBINATION, DUPLICATE_SKU_CODE (within the input) and
    MISSING_SKU for every combination no SKU covers.
    """
    by_key = {c.spec_value_ids: c for c in matrix}
    problems: list[Problem] = []
    matched: list[SkuCombination | None] = []
    seen_combos: set[tuple[int, ...]] = set()
    seen_codes: set[str] = set()
    for i, sku in enumerate(skus):
        at = (*path, str(i))
        problems += _sku_field_problems(sku, at)
        combo = by_key.get(tuple(sorted(sku.spec_value_ids)))
        if combo is None or len(set(sku.spec_value_ids)) != len(sku.spec_value_ids):
            problems.append(Problem(CatalogError.UNKNOWN_COMBINATION,
                                    "give exactly one chosen value of each sales attribute",
                                    (*at, "specValueIds")))
            combo = None
        elif combo.spec_value_ids in seen_combos:
            problems.append(Problem(CatalogError.DUPLICATE_COMBINATION, f"another SKU already has '{combo.label}'",
                                    (*at, "specValueIds")))
        else:
            seen_combos.add(combo.spec_value_ids)
        if sku.code in seen_codes:
            problems.append(Problem(CatalogError.DUPLICATE_SKU_CODE, f"SKU code '{sku.code}' is given twice",
                                    (*at, "code")))
        seen_codes.add(sku.code)
        matched.append(combo)
    for combo in matrix:
        if combo.spec_value_ids not in seen_combos:
            problems.append(Problem(CatalogError.MISSING_SKU, f"no SKU for '{combo.label or 'the product'}'", path))
    return matched, problems
