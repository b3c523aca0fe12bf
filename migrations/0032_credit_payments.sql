-- A CREDIT payment at the cashier (DOMAIN §8 / §8.1): approved in real time, its amount frozen on
-- the buyer's line with the plan chosen; at success the loan is made (LOANED), and a payment
-- that never pays its order is refunded by releasing the amount (RELEASED).
CREATE TABLE credit_payments (
    payment_id              bigint PRIMARY KEY REFERENCES payments (id),
    buyer_id                bigint NOT NULL REFERENCES credit_lines (buyer_id),
    amount                  bigint NOT NULL CHECK (amount > 0),
    periods                 int NOT NULL CHECK (periods IN (3, 6, 9, 12)),
    rate_percent            numeric(6, 3) NOT NULL,
    interest_free           boolean NOT NULL,
    subsidiser              text CHECK (subsidiser IN ('PLATFORM', 'MERCHANT')),
    subsidiser_merchant_id  bigint REFERENCES merchants (id),
    subsidy_fee             bigint NOT NULL DEFAULT 0,
    installments            jsonb NOT NULL,          -- [{principal, fee}] of the buyer's schedule
    status                  text NOT NULL DEFAULT 'FROZEN' CHECK (status IN ('FROZEN', 'LOANED', 'RELEASED')),
    loan_id                 bigint REFERENCES loans (id),
    created_at              timestamptz NOT NULL
);
CREATE INDEX credit_payments_buyer_idx ON credit_payments (buyer_id);
