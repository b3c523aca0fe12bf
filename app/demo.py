"""Demo data for `ecom dev` and GraphiQL: idempotent, safe to run at every start."""

from app.auth.passwords import hash_password
from app.auth.service import create_staff
from app.db import Database

DEMO_PASSWORD = "demo-pass-123"
DEMO_LOGINS = [
    ("buyer", "13800000001", DEMO_PASSWORD),
    ("admin (staff)", "admin", DEMO_PASSWORD),
    ("merchant owner", "acme-owner", DEMO_PASSWORD),
    ("merchant owner", "lumen-owner", DEMO_PASSWORD),
]
MERCHANTS = [(1, "平台自营 Platform Self-operated", "SELF_OPERATED"),
             (2, "Acme 数码旗舰店", "MARKETPLACE"),
             (3, "Lumen 服饰", "MARKETPLACE")]


async def seed_demo(db: Database, scale_skus: int = 0, progress=print) -> None:
    progress("loading demo data")
    async with db.transaction() as conn:
        for mid, name, kind in MERCHANTS:
            await conn.execute(
                "INSERT INTO merchants (id, name, kind) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING",
                mid, name, kind)
        await conn.execute("SELECT setval(pg_get_serial_sequence('merchants', 'id'),"
                           " greatest((SELECT max(id) FROM merchants), 1))")
        await conn.execute(
            "INSERT INTO buyers (phone, password_hash, nickname) VALUES ($1, $2, 'Demo Buyer')"
            " ON CONFLICT (phone) DO NOTHING", "13800000001", hash_password(DEMO_PASSWORD))
        await create_staff(conn, "admin", DEMO_PASSWORD, "ADMIN", display_name="Demo Admin")
        await create_staff(conn, "acme-owner", DEMO_PASSWORD, "MERCHANT", 2, "OWNER", "Acme Owner")
        await create_staff(conn, "lumen-owner", DEMO_PASSWORD, "MERCHANT", 3, "OWNER", "Lumen Owner")
    progress("demo data ready")
