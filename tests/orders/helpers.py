"""Shared by the order tests: GraphQL documents and placement inputs."""

import uuid

from tests.checkout.helpers import SHENZHEN_NANSHAN

ORDER_FIELDS = """id paymentOrderId merchantId status buyerStatus buyerStatusLabel paymentStatus logisticsStatus
  goodsTotal discount shipping payable paymentDeadline carrier trackingNumber cancelReason
  address { receiver phone regionCode detail }
  lines { skuId title quantity unitPrice goodsAmount itemDiscount paidAmount giftOfPromotionId
          shares { level promotionId couponId amount funder platformAmount merchantAmount } }
  history { fromStatus toStatus actor reason }
  payments { id channel amount status } refunds { id amount status reason }"""
PLACE = f"""mutation($i: PlaceOrderInput!) {{ placeOrder(input: $i) {{
  paymentOrder {{ id payable expiresAt orders {{ {ORDER_FIELDS} }} }} replayed
  pricing {{ payable }} userErrors {{ field code message }} }} }}"""
ORDER = f"query($id: ID!) {{ order(id: $id) {{ {ORDER_FIELDS} }} }}"
CANCEL = f"mutation($id: ID!) {{ cancelOrder(input: {{orderId: $id}}) {{ order {{ {ORDER_FIELDS} }} userErrors {{ code }} }} }}"
SHIP = f"""mutation($id: ID!) {{ shipOrder(input: {{orderId: $id, carrier: "SF", trackingNumber: "SF1234567"}}) {{
  order {{ {ORDER_FIELDS} }} userErrors {{ code }} }} }}"""
RECEIVE = f"mutation($id: ID!) {{ confirmReceipt(input: {{orderId: $id}}) {{ order {{ {ORDER_FIELDS} }} userErrors {{ code }} }} }}"
MY_ORDERS = f"""query($tab: BuyerOrderStatus) {{ myOrders(tab: $tab, first: 50) {{ edges {{ node {{ {ORDER_FIELDS} }} }} }}
  myOrderCounts {{ toPay toShip toReceive toReview done afterSale cancelled closed }} }}"""
MERCHANT_ORDERS = """query($s: OrderStatus) { merchantOrders(status: $s, first: 50) { edges { node { id merchantId status } } } }"""

ADDRESS = {"receiver": "张三", "phone": "13800138000", "regionCode": SHENZHEN_NANSHAN, "detail": "科技园南区 1 栋"}


def key() -> str:
    return uuid.uuid4().hex


def place_input(lines: list[dict], **fields) -> dict:
    return {"idempotencyKey": key(), "lines": lines, "address": ADDRESS, **fields}
