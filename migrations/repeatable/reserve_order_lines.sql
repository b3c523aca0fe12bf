-- Re-runnable (app/migrate.py): edit this file to change the function (first defined in
-- 0010_reserve_order_lines.sql).
-- Reserving every line of a payment order in one call (DOMAIN §5/§6): lines in SKU order (so
-- concurrent placements never wait on each other in a cycle); per line the warehouse
-- `route_warehouse` picks; the UPDATE re-checks `on_hand - reserved` under the row lock and a race
-- lost to another placement picks again. Lines that cannot be reserved are all reported at once:
-- RAISE 'OUT_OF_STOCK' with the SKU ids in DETAIL, so the caller's transaction rolls back.
-- Placement sends this call and its COMMIT in one round trip (app/db.py `commit_with`), so a
-- hot SKU's stock row is locked for the time PostgreSQL needs, not for a client round trip.
CREATE OR REPLACE FUNCTION reserve_order_lines(p_payment_order_id bigint, p_region text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    line record;
    picked bigint;
    attempts int;
    missing bigint[] := '{}';
BEGIN
    FOR line IN
        SELECT l.id, l.sku_id, l.quantity, p.fulfillment_type = 'VIRTUAL' AS virtual
        FROM order_lines l JOIN orders o ON o.id = l.order_id JOIN products p ON p.id = l.product_id
        WHERE o.payment_order_id = p_payment_order_id
        ORDER BY l.sku_id, l.id
    LOOP
        attempts := 0;
        LOOP
            attempts := attempts + 1;
            picked := route_warehouse(line.sku_id, line.quantity, CASE WHEN line.virtual THEN NULL ELSE p_region END);
            EXIT WHEN picked IS NULL;
            UPDATE stock SET reserved = reserved + line.quantity, updated_at = now()
            WHERE sku_id = line.sku_id AND warehouse_id = picked AND on_hand - reserved >= line.quantity;
            EXIT WHEN FOUND;
            IF attempts >= 10 THEN picked := NULL; EXIT; END IF;
        END LOOP;
        IF picked IS NULL THEN
            missing := missing || line.sku_id;
        ELSE
            INSERT INTO stock_reservations (order_line_id, sku_id, warehouse_id, quantity)
            VALUES (line.id, line.sku_id, picked, line.quantity);
        END IF;
    END LOOP;
    IF cardinality(missing) > 0 THEN
        RAISE EXCEPTION 'OUT_OF_STOCK' USING DETAIL = array_to_string(missing, ',');
    END IF;
END $$;
