"""Virtual goods (DOMAIN §0 scenario 3, §6 VIRTUAL): a paid top-up is bought at once from the
REALTIME_API supplier whose contract covers its SKUs; success delivers it, failure refunds it."""
