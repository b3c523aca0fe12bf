"""Supply (DOMAIN §6): suppliers and their contracts, dropship suppliers' declared stock,
purchase orders to stock suppliers and the receipts that raise warehouse stock (docs/supply.md)."""
