-- Risk decides after-sale auto-approval too (DOMAIN §9, §11): a buyer with many recent
-- after-sales is sent to the merchant's review, logged at stage AFTER_SALE.
ALTER TABLE risk_decisions DROP CONSTRAINT risk_decisions_stage_check;
ALTER TABLE risk_decisions ADD CONSTRAINT risk_decisions_stage_check
    CHECK (stage IN ('PLACEMENT', 'PAYMENT', 'AFTER_SALE'));
