-- Buyer search sorts "newest" by listing time, falling back to creation for rows listed
-- without one; keyset pagination walks this index like the price and sales ones of 0002.
CREATE INDEX products_listed_newest_key_idx
    ON products ((coalesce(listed_at, created_at)) DESC, id DESC) WHERE status = 'LISTED';
