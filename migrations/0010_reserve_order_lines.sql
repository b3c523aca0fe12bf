-- Reserving every line of a payment order in one call (DOMAIN §5/§6): lines in SKU order (so
-- concurrent placements never wait on each other in a cycle); per line the warehouse
-- `route_warehouse` picks; the UPDATE re-checks `on_hand - reserved` under the row lock and a race
-- lost to another placement picks again. Lines that cannot be reserved are all reported at once:
-- RAISE 'OUT_OF_STOCK' with the SKU ids in DETAIL, so the caller's transaction rolls back.
-- Placement sends this call and its COMMIT in one round trip (app/db.py `commit_with`), so a
-- hot SKU's stock row is locked for the time PostgreSQL needs, not for a client round trip.
-- Routing (DOMAIN §6), the one place the rule lives: the merchant's active warehouse covering the
-- province (any of them for virtual goods: p_region NULL) holding `p_quantity` available,
-- highest priority first, then lowest id. NULL: no warehouse can ship it.
CREATE FUNCTION route_warehouse(p_sku bigint, p_quantity bigint, p_region text) RETURNS bigint
LANGUAGE plpgsql STABLE AS $$   -- PL/pgSQL, not SQL: its plan is kept per session, not per call
BEGIN
    RETURN (SELECT w.id FROM skus s
            JOIN warehouses w ON w.merchant_id = s.merchant_id AND w.active
            JOIN stock st ON st.sku_id = s.id AND st.warehouse_id = w.id AND st.on_hand - st.reserved >= p_quantity
            WHERE s.id = p_sku
              AND (p_region IS NULL OR EXISTS (SELECT 1 FROM warehouse_regions wr
                                               WHERE wr.warehouse_id = w.id AND wr.region_code = p_region))
            ORDER BY w.priority DESC, w.id LIMIT 1);
END $$;

CREATE FUNCTION reserve_order_lines(p_payment_order_id bigint, p_region text) RETURNS void
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
