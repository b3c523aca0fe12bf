import pytest

from tests.cart.helpers import make_shop, staff_token


@pytest.fixture(scope="module")
async def shop(db, settings, tokens):
    """Two merchants with a staff token each, and the admin's: who manages promotions."""
    s = await make_shop(db)
    s.token_a = await staff_token(db, settings, s.merchant_a)
    s.token_b = await staff_token(db, settings, s.merchant_b)
    s.admin = tokens["admin"]
    return s
