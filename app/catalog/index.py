"""The buyer-search columns of `products`, derived from the catalog tables.

`products.min_price/max_price` (active SKUs), `search_text` (the words of the title, subtitle,
brand names and leaf category, plus the names of the categories above the leaf and of the
display categories, see app/catalog/words.py) and `attribute_value_ids` (enumerated KEY/NORMAL
values plus every active SKU's sales values) are denormalised so that search, filters and facets
read one table. Every write that changes their inputs calls `refresh_product_index` in the same
transaction. The words also go into `search_words`, the vocabulary the typo fallback of search
picks corrections from.
"""

import asyncpg

from app.catalog import words
from app.db import Database

# Indexed products at a time when `reindex_unindexed` catches up.
REINDEX_BATCH = 500


async def refresh_product_index(conn: asyncpg.Connection, product_ids: list[int]) -> None:
    if not product_ids:
        return
    await words.load()
    texts = await conn.fetch(
        """
        SELECT p.id, p.title, p.subtitle, b.name_zh, b.name_en,
            ARRAY(WITH RECURSIVE path AS (
                      SELECT c.id, c.parent_id, c.name, 0 AS up FROM backend_categories c WHERE c.id = p.category_id
                      UNION ALL
                      SELECT c.id, c.parent_id, c.name, path.up + 1 FROM backend_categories c
                      JOIN path ON c.id = path.parent_id)
                  SELECT name FROM path ORDER BY up) AS path,
            ARRAY(SELECT DISTINCT f.name FROM frontend_category_mappings m
                  JOIN frontend_categories f ON f.id = m.frontend_category_id
                  WHERE m.backend_category_id = p.category_id) AS frontend
        FROM products p LEFT JOIN brands b ON b.id = p.brand_id
        WHERE p.id = ANY($1::bigint[])
        """, product_ids)
    ids = [r["id"] for r in texts]
    search_texts = [words.index_text([r["title"], r["subtitle"], r["name_zh"] or "", r["name_en"] or "",
                                      *r["path"][:1]],
                                     [r["name_zh"] or "", r["name_en"] or "", *r["path"], *r["frontend"]])
                    for r in texts]
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
            SELECT * FROM unnest($1::bigint[], $2::text[]) AS t(id, text)
        )
        UPDATE products p
           SET min_price = price.lo, max_price = price.hi, attribute_value_ids = vals.ids,
               search_text = words.text
          FROM price JOIN vals USING (id) JOIN words USING (id)
         WHERE p.id = price.id
        """,
        ids, search_texts,
    )
    # Sorted, so two transactions adding the same new words take their locks in one order.
    await conn.execute(
        "INSERT INTO search_words (word)"
        " SELECT DISTINCT w FROM unnest($1::text[]) t, unnest(string_to_array(btrim(t), ' ')) w"
        " WHERE char_length(w) >= 3 ORDER BY w ON CONFLICT DO NOTHING", search_texts)


async def prepare_search(db: Database) -> None:
    """At process start: jieba's dictionary off the request path, and any product the last
    migration left unindexed indexed again."""
    await words.load()
    await reindex_unindexed(db)


async def reindex_unindexed(db: Database) -> int:
    """Index the products whose `search_text` is empty: migration 0013 emptied it, since SQL
    cannot segment Chinese. Safe to run at every start; returns how many were indexed."""
    done = 0
    while True:
        async with db.transaction() as conn:
            ids = [r["id"] for r in await conn.fetch(
                "SELECT id FROM products WHERE search_text = '' ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED",
                REINDEX_BATCH)]
            await refresh_product_index(conn, ids)
        done += len(ids)
        if len(ids) < REINDEX_BATCH:
            return done


async def refresh_products_of_category(conn: asyncpg.Connection, category_ids: list[int]) -> None:
    """After a category, brand or frontend mapping rename/change: refresh the affected products."""
    ids = [r["id"] for r in await conn.fetch(
        "SELECT id FROM products WHERE category_id = ANY($1::bigint[])", category_ids)]
    await refresh_product_index(conn, ids)


async def refresh_products_of_brand(conn: asyncpg.Connection, brand_id: int) -> None:
    """After a brand rename: its names are part of its products' search text."""
    ids = [r["id"] for r in await conn.fetch("SELECT id FROM products WHERE brand_id = $1", brand_id)]
    await refresh_product_index(conn, ids)
