-- Re-runnable (app/migrate.py): edit this file to change the function (first defined in
-- 0010_reserve_order_lines.sql).
-- Routing (DOMAIN §6), the one place the rule lives: the merchant's active warehouse covering the
-- province (any of them for virtual goods: p_region NULL) holding `p_quantity` available,
-- highest priority first, then lowest id. NULL: no warehouse can ship it.
CREATE OR REPLACE FUNCTION route_warehouse(p_sku bigint, p_quantity bigint, p_region text) RETURNS bigint
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
