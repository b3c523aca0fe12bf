-- Repaying credit through the cashier (DOMAIN §8): a repayment is paid as a payment order of kind
-- REPAYMENT (no goods orders, like a deposit); an overpayment goes back through the repayments'
-- payments, newest first, as refunds of them.
ALTER TABLE payment_orders DROP CONSTRAINT payment_orders_kind_check;
ALTER TABLE payment_orders ADD CONSTRAINT payment_orders_kind_check CHECK (kind IN ('GOODS', 'DEPOSIT', 'REPAYMENT'));

ALTER TABLE credit_repayments ADD COLUMN payment_order_id bigint UNIQUE REFERENCES payment_orders (id);

CREATE TABLE credit_overpayment_returns (
    refund_id        bigint PRIMARY KEY REFERENCES refunds (id),
    overpayment_id   bigint NOT NULL REFERENCES credit_overpayments (id),
    amount           bigint NOT NULL CHECK (amount > 0),
    settled          boolean NOT NULL DEFAULT false
);
CREATE INDEX credit_overpayment_returns_overpayment_idx ON credit_overpayment_returns (overpayment_id);
