-- Catalog (issue 8 §2.4, §2.6).

-- Search: products' words are now segmented by jieba (app/catalog/words.py), which SQL cannot
-- do. Every product's search_text is emptied here; app/catalog/index.py `reindex_unindexed`
-- (run when the API starts) indexes the emptied ones again.
UPDATE products SET search_text = '';
CREATE INDEX products_unindexed_idx ON products (id) WHERE search_text = '';

-- The words of all indexed products (3+ characters): the typo fallback of search picks the
-- closest ones by trigram distance. Words are only added; a stale one matches nothing.
CREATE TABLE search_words (
    word text PRIMARY KEY
);
CREATE INDEX search_words_trgm_idx ON search_words USING gist (word gist_trgm_ops);

-- The backend categories a marketplace shop may sell in (经营类目, granted at onboarding); a
-- granted category covers its whole subtree. Self-operated shops sell in every category.
CREATE TABLE merchant_categories (
    merchant_id  bigint NOT NULL REFERENCES merchants (id),
    category_id  bigint NOT NULL REFERENCES backend_categories (id) ON DELETE CASCADE,
    PRIMARY KEY (merchant_id, category_id)
);
CREATE INDEX merchant_categories_category_idx ON merchant_categories (category_id);

-- No shop loses a category it already sells in.
INSERT INTO merchant_categories (merchant_id, category_id)
SELECT DISTINCT p.merchant_id, p.category_id
FROM products p JOIN merchants m ON m.id = p.merchant_id AND m.kind = 'MARKETPLACE'
ON CONFLICT DO NOTHING;
