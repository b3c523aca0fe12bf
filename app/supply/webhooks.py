"""`POST /partners/suppliers/{supplier id}/stock`: a DROPSHIP supplier's own system declares its
available stock, signed with the supplier's secret like every partner call (HMAC over
`timestamp + "." + body`, app/signing.py).

Body: `{"items": [{"supplier_sku_code": "YP-…", "available": 12}, …]}` (at most 100), in the
supplier's own SKU codes (its contract lines). All items or none: 200 `{"ok": true, "items":
[{"supplier_sku_code", "available"}]}`; 401 for a bad or stale signature, 404 for an unknown
supplier (or one that is not DROPSHIP), 400 for a malformed body, 422 with `problems` (code,
message, field) when a rule refuses an item. The same rule as `declareSupplierStock`.
"""

from typing import Any

import structlog
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from app.errors import DomainError
from app.ids import InvalidId, decode_id
from app.supply import suppliers
from app.webhooks import json_of, signed_body

log = structlog.get_logger(__name__)
MAX_ITEMS = 100


def _items(raw: bytes) -> list[tuple[str, int]] | None:
    body: Any = json_of(raw)
    items = body.get("items") if isinstance(body, dict) else None
    if not isinstance(items, list) or not 1 <= len(items) <= MAX_ITEMS:
        return None
    out = []
    for item in items:
        code = item.get("supplier_sku_code") if isinstance(item, dict) else None
        available = item.get("available") if isinstance(item, dict) else None
        if not isinstance(code, str) or type(available) is not int:
            return None
        out.append((code, available))
    return out


async def receive_stock_declaration(request: Request) -> Response:
    state = request.app.state
    try:
        supplier_id = decode_id("Supplier", request.path_params["supplier"])
    except InvalidId:
        return JSONResponse({"error": "unknown supplier"}, 404)
    async with state.db.connection() as conn:
        secret = await suppliers.dropship_secret(conn, supplier_id)
    if secret is None:
        return JSONResponse({"error": "unknown supplier"}, 404)
    raw = await signed_body(request, secret, "supplier stock declaration", supplier_id=supplier_id)
    if isinstance(raw, Response):
        return raw
    items = _items(raw)
    if items is None:
        return JSONResponse({"error": "malformed declaration"}, 400)
    try:
        async with state.db.transaction() as conn:
            declared = await suppliers.declare_stock_by_codes(conn, supplier_id, items)
    except DomainError as exc:
        return JSONResponse({"problems": [{"code": p.code.value, "message": p.message, "field": list(p.field)}
                                          for p in exc.problems]}, 422)
    return JSONResponse({"ok": True, "items": [{"supplier_sku_code": c, "available": a} for c, a in declared]})


def supplier_routes() -> list[Route]:
    return [Route("/partners/suppliers/{supplier}/stock", receive_stock_declaration, methods=["POST"])]
