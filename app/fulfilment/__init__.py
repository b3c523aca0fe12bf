"""Fulfilment (DOMAIN §6): shipments (拆包裹), pushes to warehouse and dropship partner systems,
the partners' notices, the merchant's own shipping and the carriers' tracking. docs/fulfilment.md."""
