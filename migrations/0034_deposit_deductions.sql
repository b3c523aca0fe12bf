-- A deposit deduction (DOMAIN §10.1): the back office covers a merchant's negative available
-- balance from its deposit — an adjustment whose other side is the deposit, not the platform.
ALTER TABLE merchant_adjustments ADD COLUMN source text NOT NULL DEFAULT 'PLATFORM'
    CHECK (source IN ('PLATFORM', 'DEPOSIT'));
ALTER TABLE merchant_adjustments ADD CONSTRAINT merchant_adjustments_deposit_check
    CHECK (source = 'PLATFORM' OR amount > 0);
