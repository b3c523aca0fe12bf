"""After-sale (DOMAIN §9): refund-only, return-and-refund and exchange cases on order lines."""
