"""The sandbox payment provider (DOMAIN §7): "the outside world" shipped with the project so a
developer or a test can pay without a real provider. It speaks real HTTP, keeps its state in
Redis, signs its callbacks with its own secret, and is mounted under /sandbox/ only when
`settings.sandbox_on` (never in production unless explicitly enabled with a real secret)."""
