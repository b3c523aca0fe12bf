"""The buyer-search columns of `products`, derived from the catalog tables.

`products.min_price/max_price` (active SKUs), `search_text` (title, subtitle, brand names,
backend category path, frontend category names) and `attribute_value_ids` (enumerated
KEY/NORMAL values plus every active SKU's sales values) are denormalised so that search,
filters and facets read one table. Every write that changes their inputs calls
`refresh_product_index` in the same transaction.
"""

import asyncpg


async def refresh_product_index(conn: asyncpg.Connection, product_ids: list[int]) -> None:
    if not product_ids:
        return
    await conn.execute(
        """
        WITH price AS (
            SELECT p.id, min(s.price) AS lo, max(s.price) AS hi
            FROM products p LEFT JOIN skus s ON s.product_id = p.id AND s.status = 'ACTIVE'
            WHERE p.id = ANY($1::bigint[]) GROUP BY p.id
        ), vals AS (
            SELECT p.id, coalesce(array_agg(DISTINCT v.value_id ORDER BY v.value_id)
                                  FILTER (WHERE v.value_id IS NOT NULL), '{}') AS ids
            FROM products p
            LEFT JOIN LATERAL (
                SELECT pa.value_id FROM product_attributes pa WHERE pa.product_id = p.id
                UNION
                SELECT unnest(s.spec_value_ids) FROM skus s WHERE s.product_id = p.id AND s.status = 'ACTIVE'
            ) v ON true
            WHERE p.id = ANY($1::bigint[]) GROUP BY p.id
        ), words AS (
            SELECT p.id, concat_ws(' ', p.title, p.subtitle, b.name_zh, b.name_en,
                (WITH RECURSIVE path AS (
                     SELECT c.id, c.parent_id, c.name FROM backend_categories c WHERE c.id = p.category_id
                     UNION ALL
                     SELECT c.id, c.parent_id, c.name FROM backend_categories c JOIN path ON c.id = path.parent_id)
                 SELECT string_agg(name, ' ') FROM path),
                (SELECT string_agg(DISTINCT f.name, ' ') FROM frontend_category_mappings m
                 JOIN frontend_categories f ON f.id = m.frontend_category_id
                 WHERE m.backend_category_id = p.category_id)) AS text
            FROM products p LEFT JOIN brands b ON b.id = p.brand_id
            WHERE p.id = ANY($1::bigint[])
        )
        UPDATE products p
           SET min_price = price.lo, max_price = price.hi, attribute_value_ids = vals.ids,
               search_text = lower(words.text)
          FROM price JOIN vals USING (id) JOIN words USING (id)
         WHERE p.id = price.id
        """,
        product_ids,
    )


async def refresh_products_of_category(conn: asyncpg.Connection, category_ids: list[int]) -> None:
    """After a category, brand or frontend mapping rename/change: refresh the affected products."""
    ids = [r["id"] for r in await conn.fetch(
        "SELECT id FROM products WHERE category_id = ANY($1::bigint[])", category_ids)]
    await refresh_product_index(conn, ids)


async def refresh_products_of_brand(conn: asyncpg.Connection, brand_id: int) -> None:
    """After a brand rename: its names are part of its products' search text."""
    ids = [r["id"] for r in await conn.fetch("SELECT id FROM products WHERE brand_id = $1", brand_id)]
    await refresh_product_index(conn, ids)
