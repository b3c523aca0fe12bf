"""Demo data for `ecom dev`, GraphiQL and benchmarks: idempotent, safe to run at every start.

A data loader, so it writes the tables directly (bulk `unnest` inserts), under an advisory
lock so that two starting processes never seed twice. Every row is found again by a natural
key (merchant id, category path, brand name, warehouse name, product title, SKU code), so a
second run adds nothing and ids never change. `scale_skus` adds generated, listed products
until the catalog holds that many SKUs (for benchmarks).

Virtual goods (phone top-up) are bought from the supplier at once; their SKUs keep a large
stock in the platform's virtual-goods warehouse, which delivers to no region (no address).
"""

import io
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import product as combinations

import asyncpg
from PIL import Image

from app.aftersale import service as aftersale
from app.aftersale.status import AfterSaleKind, AfterSaleReason
from app.auth.passwords import hash_password
from app.auth.principal import Principal
from app.auth.service import create_staff
from app.catalog import warehouses
from app.catalog.index import refresh_product_index
from app.config import get_settings
from app.credit import lines as credit_lines
from app.db import Database
from app.ledger import postings as ledger
from app.ledger import settlement
from app.merchants import onboarding
from app.orders import service as orders
from app.payouts import adjustments, withdrawals
from app.supply import purchasing, suppliers
from app.supply.status import PurchaseOrderAction
from app.uploads.storage import new_key, storage_for

DEMO_PASSWORD = "demo-pass-123"
DEMO_LOGINS = [
    ("buyer", "13800000001", DEMO_PASSWORD),
    ("admin (staff)", "admin", DEMO_PASSWORD),
    ("merchant owner", "acme-owner", DEMO_PASSWORD),
    ("merchant owner", "lumen-owner", DEMO_PASSWORD),
    ("review buyer", "13800000002", DEMO_PASSWORD),
    ("after-sale buyer", "13800000003", DEMO_PASSWORD),
    ("merchant applicant, under review", "13800000004", DEMO_PASSWORD),
    ("merchant applicant, deposit due", "13800000005", DEMO_PASSWORD),
    ("merchant owner (onboarded)", "maple-owner", DEMO_PASSWORD),
]
PLATFORM, ACME, LUMEN = 1, 2, 3
MERCHANTS = [(PLATFORM, "平台自营 Platform Self-operated", "SELF_OPERATED"),
             (ACME, "Acme 数码旗舰店", "MARKETPLACE"),
             (LUMEN, "Lumen 服饰", "MARKETPLACE")]
SEED_LOCK = 0x5EED_DA7A  # advisory lock: one seeding process at a time
BATCH_PRODUCTS = 400     # products per transaction while scaling

# --- regions and warehouses -------------------------------------------------------------------

REGIONS = {
    "110000": "北京市", "120000": "天津市", "310000": "上海市", "320000": "江苏省", "330000": "浙江省",
    "340000": "安徽省", "350000": "福建省", "360000": "江西省", "370000": "山东省", "420000": "湖北省",
    "430000": "湖南省", "440000": "广东省", "450000": "广西壮族自治区", "460000": "海南省",
}
EAST = ["310000", "320000", "330000", "340000", "350000", "360000", "370000"]
SOUTH = ["440000", "450000", "460000", "350000", "430000"]


@dataclass(frozen=True)
class WarehouseSeed:
    merchant_id: int
    name: str
    address: str
    region_code: str | None
    priority: int
    covers: tuple[str, ...]


SHANGHAI = WarehouseSeed(PLATFORM, "上海仓 Shanghai DC", "上海市嘉定区马陆镇物流园 8 号", "310000", 20, tuple(EAST))
GUANGZHOU = WarehouseSeed(PLATFORM, "广州仓 Guangzhou DC", "广州市白云区太和镇物流大道 18 号", "440000", 10,
                          tuple(SOUTH))
VIRTUAL_STOCK = WarehouseSeed(PLATFORM, "虚拟商品库存 Virtual goods", "", None, 0, ())
ACME_SHENZHEN = WarehouseSeed(ACME, "Acme 深圳仓", "深圳市龙华区观澜街道 66 号", "440000", 10,
                              tuple(SOUTH + EAST + ["110000", "120000", "420000"]))
LUMEN_HANGZHOU = WarehouseSeed(LUMEN, "Lumen 杭州仓", "杭州市余杭区良渚街道 9 号", "330000", 10,
                               tuple(EAST + ["110000", "440000"]))
WAREHOUSES = [SHANGHAI, GUANGZHOU, VIRTUAL_STOCK, ACME_SHENZHEN, LUMEN_HANGZHOU]
PHYSICAL_WAREHOUSES = {PLATFORM: [SHANGHAI, GUANGZHOU], ACME: [ACME_SHENZHEN], LUMEN: [LUMEN_HANGZHOU]}

# --- categories, attributes, brands -----------------------------------------------------------


@dataclass(frozen=True)
class AttributeSeed:
    name: str
    kind: str                # KEY, SALES, NORMAL
    filterable: bool = False
    required: bool = False


def _attrs(*specs: str) -> tuple[AttributeSeed, ...]:
    """'颜色:SALES:F' → a SALES attribute, filterable ('R' marks required)."""
    out = []
    for spec in specs:
        name, kind, *rest = spec.split(":")
        flags = rest[0] if rest else ""
        out.append(AttributeSeed(name, kind, "F" in flags, "R" in flags))
    return tuple(out)


# (path, commission rate, attribute template of the leaf)
BACKEND_CATEGORIES = [
    (("手机数码",), "0.05", ()),
    (("手机数码", "手机"), "0.03",
     _attrs("品牌型号:KEY:FR", "颜色:SALES:F", "内存:SALES:F", "屏幕尺寸:NORMAL:F", "操作系统:NORMAL:F",
            "网络制式:NORMAL")),
    (("手机数码", "平板电脑"), "0.04", _attrs("型号:KEY:FR", "颜色:SALES:F", "存储容量:SALES:F", "屏幕尺寸:NORMAL:F")),
    (("手机数码", "耳机音箱"), "0.06", _attrs("型号:KEY:R", "颜色:SALES:F", "连接方式:NORMAL:F", "降噪:NORMAL:F")),
    (("手机数码", "智能手表"), "0.05", _attrs("型号:KEY:R", "颜色:SALES:F", "表盘尺寸:SALES:F", "续航:NORMAL")),
    (("服装",), "0.08", ()),
    (("服装", "男装"), "0.08", ()),
    (("服装", "男装", "衬衫"), "0.10",
     _attrs("颜色:SALES:F", "尺码:SALES:F", "面料:NORMAL:F", "袖长:NORMAL:F", "版型:NORMAL")),
    (("服装", "男装", "T恤"), "0.10", _attrs("颜色:SALES:F", "尺码:SALES:F", "面料:NORMAL:F", "领型:NORMAL")),
    (("服装", "女装"), "0.10", ()),
    (("服装", "女装", "连衣裙"), "0.12", _attrs("颜色:SALES:F", "尺码:SALES:F", "面料:NORMAL:F", "裙长:NORMAL:F")),
    (("充值",), "0.01", ()),
    (("充值", "话费充值"), "0.005", _attrs("运营商:KEY:FR", "面值:SALES:F", "到账时间:NORMAL")),
    (("充值", "流量充值"), "0.01", _attrs("运营商:KEY:FR", "流量:SALES:F", "有效期:NORMAL")),
]
LEAF_PATHS = {path[-1]: path for path, _, attrs in BACKEND_CATEGORIES if attrs}
# The categories (and their subtrees) each marketplace shop may sell in; the platform's own
# shop sells everywhere.
SHOP_CATEGORIES = [(ACME, ("手机数码",)), (LUMEN, ("服装",))]
# Lumen negotiated a lower rate on shirts.
MERCHANT_COMMISSIONS = [(LUMEN, ("服装", "男装", "衬衫"), "0.08")]

# display tree: (parent, name, backend leaves it shows)
FRONTEND_CATEGORIES = [
    (None, "数码家电", ()),
    ("数码家电", "手机", ("手机",)),
    ("数码家电", "数码", ("手机", "平板电脑", "耳机音箱", "智能手表")),
    (None, "服饰", ()),
    ("服饰", "男装", ("衬衫", "T恤")),
    ("服饰", "女装", ("连衣裙", "T恤")),
    (None, "充值缴费", ()),
    ("充值缴费", "话费", ("话费充值", "流量充值")),
]

# (中文名, English name, origin, backend leaves)
BRANDS = [
    ("苹果", "Apple", "美国", ("手机", "平板电脑", "耳机音箱", "智能手表")),
    ("华为", "Huawei", "中国", ("手机", "平板电脑", "耳机音箱", "智能手表")),
    ("小米", "Xiaomi", "中国", ("手机", "平板电脑", "耳机音箱", "智能手表")),
    ("OPPO", "OPPO", "中国", ("手机", "耳机音箱")),
    ("vivo", "vivo", "中国", ("手机", "耳机音箱")),
    ("荣耀", "Honor", "中国", ("手机", "平板电脑", "智能手表")),
    ("索尼", "Sony", "日本", ("耳机音箱",)),
    ("Lumen", "Lumen", "中国", ("衬衫", "T恤", "连衣裙")),
    ("优衣库", "Uniqlo", "日本", ("衬衫", "T恤", "连衣裙")),
    ("海澜之家", "HLA", "中国", ("衬衫", "T恤")),
    ("李宁", "Li-Ning", "中国", ("T恤",)),
    ("中国移动", "China Mobile", "中国", ("话费充值", "流量充值")),
    ("中国联通", "China Unicom", "中国", ("话费充值", "流量充值")),
    ("中国电信", "China Telecom", "中国", ("话费充值", "流量充值")),
]

# --- products ---------------------------------------------------------------------------------

Axis = tuple[str, tuple[tuple[str, int], ...]]  # sales attribute, (value, price added in cents)


def _axis(attribute: str, *values: str | tuple[str, int]) -> Axis:
    return attribute, tuple(v if isinstance(v, tuple) else (v, 0) for v in values)


@dataclass(frozen=True)
class ProductSeed:
    merchant_id: int
    code: str                          # SKU code prefix, unique within the merchant
    category: str                      # backend leaf name
    brand: str | None                  # brand 中文名
    title: str
    subtitle: str
    price: int                         # cents, the first SKU
    axes: tuple[Axis, ...]
    attributes: tuple[tuple[str, str], ...] = ()   # KEY/NORMAL attribute → value
    sales: int = 0
    status: str = "LISTED"
    member_price: bool = False         # level-1 members pay 95 %
    weight_grams: int = 200
    listed_hours_ago: int = 0
    dropship: bool = False             # a platform product its supplier ships (stock: the supplier's declaration)

    @property
    def fulfillment(self) -> str:
        if LEAF_PATHS[self.category][0] == "充值":
            return "VIRTUAL"
        if self.dropship:
            return "DROPSHIP"
        return "WAREHOUSE" if self.merchant_id == PLATFORM else "MERCHANT"

    def skus(self) -> Iterator[tuple[str, tuple[tuple[str, str], ...], int]]:
        """(code, ((attribute, value), …), price) for every combination of sales values."""
        named = [[(attr, value, delta) for value, delta in values] for attr, values in self.axes]
        for n, combo in enumerate(combinations(*named), start=1):
            yield (f"{self.code}-{n:02d}", tuple((a, v) for a, v, _ in combo),
                   self.price + sum(d for _, _, d in combo))


PHONE_COLOURS = ("曜石黑", "冰川白", "远峰蓝", "晨雾紫", "青山绿", "流光金")
MEMORY = (("8GB+256GB", 0), ("12GB+256GB", 30000), ("12GB+512GB", 80000), ("16GB+1TB", 160000))
SIZES = ("S", "M", "L", "XL", "XXL")


def _phone(merchant, code, brand, title, subtitle, price, colours, memory, model, screen, os_name,
           sales, **kw) -> ProductSeed:
    return ProductSeed(merchant, code, "手机", brand, title, subtitle, price,
                       (_axis("颜色", *colours), _axis("内存", *memory)),
                       (("品牌型号", model), ("屏幕尺寸", screen), ("操作系统", os_name), ("网络制式", "5G 全网通")),
                       sales, weight_grams=220, **kw)


def _shirt(merchant, code, category, brand, title, subtitle, price, colours, sizes, fabric, sales, **kw):
    normal = {"衬衫": ("袖长", "长袖"), "T恤": ("领型", "圆领"), "连衣裙": ("裙长", "中长款")}[category]
    return ProductSeed(merchant, code, category, brand, title, subtitle, price,
                       (_axis("颜色", *colours), _axis("尺码", *sizes)), (("面料", fabric), normal),
                       sales, weight_grams=300, **kw)


def _top_up(code, brand, title, sales) -> ProductSeed:
    faces = (("30元", 0), ("50元", 1985), ("100元", 6960))
    return ProductSeed(PLATFORM, code, "话费充值", brand, title, "全国通用 24小时自动充值 Instant top-up", 2990,
                       (_axis("面值", *faces),), (("运营商", brand), ("到账时间", "1-10 分钟")), sales,
                       weight_grams=0)


IPHONE_MEMORY = (("256GB", 0), ("512GB", 200000), ("1TB", 400000))
DEMO_PRODUCTS: list[ProductSeed] = [
    # platform, self-operated phones (warehouse fulfilment)
    _phone(PLATFORM, "APL-IP16P", "苹果", "Apple iPhone 16 Pro 5G手机 钛金属 A18 Pro 芯片",
           "Apple 官方正品 国行 支持 Apple Intelligence", 799900,
           ("黑色钛金属", "白色钛金属", "沙漠色钛金属"), IPHONE_MEMORY, "iPhone 16 Pro", "6.3英寸", "iOS",
           sales=15230, member_price=True),
    _phone(PLATFORM, "APL-IP16", "苹果", "Apple iPhone 16 5G手机 全新相机控制按钮", "A18 芯片 超长续航", 599900,
           ("黑色", "白色", "群青色"), IPHONE_MEMORY[:2], "iPhone 16", "6.1英寸", "iOS", sales=22110),
    _phone(PLATFORM, "HW-MATE70P", "华为", "华为 HUAWEI Mate 70 Pro 旗舰手机 鸿蒙 HarmonyOS",
           "超可靠玄武架构 红枫原色影像", 649900, ("曜石黑", "雪域白", "云杉绿"), MEMORY[1:3], "Mate 70 Pro",
           "6.9英寸", "HarmonyOS", sales=18750, member_price=True),
    _phone(PLATFORM, "HW-PURA70", "华为", "华为 HUAWEI Pura 70 超聚光伸缩摄像头 5G手机", "北斗卫星消息", 549900,
           ("羽砂黑", "雪域白"), MEMORY[1:3], "Pura 70", "6.6英寸", "HarmonyOS", sales=9800),
    _phone(PLATFORM, "MI-15", "小米", "小米 Xiaomi 15 徕卡光学 骁龙8至尊版 5G手机", "小尺寸旗舰 Leica 影像", 449900,
           ("黑色", "白色", "丁香紫"), MEMORY[:2], "Xiaomi 15", "6.36英寸", "Android", sales=26400),
    _phone(PLATFORM, "MI-K80", "小米", "Redmi K80 至尊性能 2K新国屏 游戏手机", "Redmi by Xiaomi 6550mAh 大电池",
           249900, ("玄夜黑", "山峦青"), MEMORY[:2], "Redmi K80", "6.67英寸", "Android", sales=31200),
    _phone(PLATFORM, "OP-FX8", "OPPO", "OPPO Find X8 天玑9400 超级影像 5G手机", "哈苏 Hasselblad 人像", 439900,
           ("星野黑", "浮光白"), MEMORY[1:3], "Find X8", "6.59英寸", "Android", sales=7600),
    _phone(PLATFORM, "VV-X200", "vivo", "vivo X200 蔡司影像 蓝晶×天玑9400 5G手机", "ZEISS 长焦 Telephoto", 429900,
           ("辰夜黑", "白月光"), MEMORY[1:3], "X200", "6.67英寸", "Android", sales=8300),
    _phone(PLATFORM, "HN-MAGIC7", "荣耀", "荣耀 Honor Magic7 AI 智能体 5G手机", "青海湖电池 鹰眼相机", 449900,
           ("绒黑色", "月影灰"), MEMORY[1:3], "Magic7", "6.78英寸", "Android", sales=5100),
    _phone(PLATFORM, "HN-200", "荣耀", "荣耀 Honor 200 雅顾光影 写真相机 5G手机", "Portrait 人像写真", 249900,
           ("绒黑色", "月影白"), MEMORY[:2], "Honor 200", "6.7英寸", "Android", sales=4300),
    _phone(PLATFORM, "APL-IP16E", "苹果", "Apple iPhone 16e 5G手机 A18 芯片", "草稿 Draft: 尚未提交审核", 449900,
           ("白色",), IPHONE_MEMORY[:2], "iPhone 16e", "6.1英寸", "iOS", sales=0, status="DRAFT"),
    # platform tablets, audio, wearables
    ProductSeed(PLATFORM, "APL-IPADAIR", "平板电脑", "苹果", "Apple iPad Air 11英寸 M2 芯片 平板电脑",
                "Apple iPad 学习办公 Liquid Retina", 479900,
                (_axis("颜色", "深空灰色", "星光色"), _axis("存储容量", ("128GB", 0), ("256GB", 80000))),
                (("型号", "iPad Air 11"), ("屏幕尺寸", "11英寸")), 6900, weight_grams=460),
    ProductSeed(PLATFORM, "HW-MATEPAD", "平板电脑", "华为", "华为 HUAWEI MatePad Pro 13.2英寸 柔光版 平板",
                "星闪连接 办公创作 HarmonyOS", 529900,
                (_axis("颜色", "曜金黑", "晶钻白"), _axis("存储容量", ("256GB", 0), ("512GB", 100000))),
                (("型号", "MatePad Pro 13.2"), ("屏幕尺寸", "13.2英寸")), 3200, weight_grams=580),
    ProductSeed(PLATFORM, "MI-PAD7", "平板电脑", "小米", "小米平板7 Xiaomi Pad 7 11.2英寸 3.2K 高清屏",
                "学习娱乐 骁龙7+ Gen3", 199900,
                (_axis("颜色", "黑色", "蓝色", "绿色"), _axis("存储容量", ("128GB", 0))),
                (("型号", "Xiaomi Pad 7"), ("屏幕尺寸", "11.2英寸")), 12800, weight_grams=500),
    ProductSeed(PLATFORM, "APL-APP2", "耳机音箱", "苹果", "Apple AirPods Pro 2 主动降噪 无线蓝牙耳机",
                "USB-C 充电盒 自适应音频", 189900, (_axis("颜色", "白色"),),
                (("型号", "AirPods Pro 2"), ("连接方式", "蓝牙"), ("降噪", "主动降噪")), 40500,
                member_price=True, weight_grams=60),
    ProductSeed(PLATFORM, "SONY-XM5", "耳机音箱", "索尼", "索尼 Sony WH-1000XM5 头戴式无线降噪耳机",
                "旗舰降噪 30小时续航 Hi-Res", 249900, (_axis("颜色", "黑色", "铂金银", "午夜蓝"),),
                (("型号", "WH-1000XM5"), ("连接方式", "蓝牙"), ("降噪", "主动降噪")), 11800, weight_grams=250),
    ProductSeed(PLATFORM, "MI-SOUND", "耳机音箱", "小米", "小米 Xiaomi Sound Pro 蓝牙音箱 供应商代发",
                "优品代发 Youpin 直发 dropship: shipped by the supplier", 69900, (_axis("颜色", "黑色", "白色"),),
                (("型号", "Xiaomi Sound Pro"), ("连接方式", "蓝牙"), ("降噪", "主动降噪")), 2300, weight_grams=900,
                dropship=True),
    ProductSeed(PLATFORM, "HW-FBP4", "耳机音箱", "华为", "华为 HUAWEI FreeBuds Pro 4 真无线降噪耳机",
                "星闪 高解析音质", 129900, (_axis("颜色", "冰霜银", "雅川青", "曜石黑"),),
                (("型号", "FreeBuds Pro 4"), ("连接方式", "蓝牙"), ("降噪", "主动降噪")), 8700, weight_grams=60),
    ProductSeed(PLATFORM, "APL-AW10", "智能手表", "苹果", "Apple Watch Series 10 智能手表 GPS款",
                "更大显示屏 更轻薄 健康监测", 299900,
                (_axis("颜色", "亮黑色", "玫瑰金色"), _axis("表盘尺寸", ("42mm", 0), ("46mm", 20000))),
                (("型号", "Watch Series 10"), ("续航", "18小时")), 9400, weight_grams=120),
    ProductSeed(PLATFORM, "HW-GT5", "智能手表", "华为", "华为 HUAWEI WATCH GT 5 智能手表 运动健康",
                "两周长续航 玄玑感知", 148800,
                (_axis("颜色", "曜石黑", "皓月白"), _axis("表盘尺寸", ("41mm", 0), ("46mm", 20000))),
                (("型号", "WATCH GT 5"), ("续航", "14天")), 14600, weight_grams=110),
    ProductSeed(PLATFORM, "MI-BAND9", "智能手表", "小米", "小米手环9 Xiaomi Smart Band 9 运动手环",
                "21天超长续航 心率血氧监测", 24900, (_axis("颜色", "午夜黑", "冰川银", "薄荷绿"), _axis("表盘尺寸", "1.62英寸")),
                (("型号", "Smart Band 9"), ("续航", "21天")), 58200, weight_grams=50),
    # platform virtual goods: phone top-up and data packs
    _top_up("CM-TOPUP", "中国移动", "中国移动 话费充值 全国通用 快充 China Mobile top-up", 120300),
    _top_up("CU-TOPUP", "中国联通", "中国联通 话费充值 全国通用 快充 China Unicom top-up", 64200),
    _top_up("CT-TOPUP", "中国电信", "中国电信 话费充值 全国通用 快充 China Telecom top-up", 51800),
    ProductSeed(PLATFORM, "CM-DATA", "流量充值", "中国移动", "中国移动 全国流量包 7天有效 Mobile data pack",
                "即时到账 全国通用", 500,
                (_axis("流量", ("5GB", 0), ("10GB", 500), ("20GB", 1500)),),
                (("运营商", "中国移动"), ("有效期", "7天")), 20400, weight_grams=0),
    # platform clothing
    _shirt(PLATFORM, "UQ-OXFORD", "衬衫", "优衣库", "优衣库 UNIQLO 男装 牛津纺长袖衬衫 Oxford Shirt",
           "经典百搭 纯棉免烫", 19900, ("白色", "浅蓝色", "粉色"), SIZES[:4], "纯棉", 36500, member_price=True),
    _shirt(PLATFORM, "UQ-FLANNEL", "衬衫", "优衣库", "优衣库 UNIQLO 法兰绒格子衬衫 男 Flannel Check Shirt",
           "秋冬保暖 柔软亲肤", 19900, ("红格", "蓝格"), SIZES[1:4], "纯棉", 12100),
    _shirt(PLATFORM, "HLA-BIZ", "衬衫", "海澜之家", "海澜之家 HLA 男士商务长袖衬衫 抗皱易打理",
           "通勤正装 Business Shirt", 15900, ("白色", "浅蓝色"), SIZES[1:4], "棉混纺", 9700),
    _shirt(PLATFORM, "UQ-UTEE", "T恤", "优衣库", "优衣库 UNIQLO U系列 圆领短袖T恤 Crew Neck T-Shirt",
           "厚实棉料 男女同款", 7900, ("白色", "黑色", "藏青色"), SIZES[1:4], "纯棉", 88100),
    _shirt(PLATFORM, "LN-SPORT", "T恤", "李宁", "李宁 Li-Ning 速干运动T恤 男款 Running Tee",
           "吸湿排汗 轻量透气", 12900, ("黑色", "荧光绿"), SIZES[1:4], "聚酯纤维", 15400),
    _shirt(PLATFORM, "HLA-TEE", "T恤", "海澜之家", "海澜之家 HLA 纯棉圆领短袖T恤 男", "夏季基础款 Basic Tee",
           6900, ("白色", "灰色"), SIZES[1:4], "纯棉", 20300),
    _shirt(PLATFORM, "UQ-DRESS", "连衣裙", "优衣库", "优衣库 UNIQLO 女装 亚麻混纺连衣裙 Linen Dress",
           "清爽透气 度假风", 29900, ("米色", "黑色"), SIZES[:3], "亚麻混纺", 7200),
    # Acme 数码 (merchant 2): ships itself from its own warehouse
    _phone(ACME, "ACME-MI14U", "小米", "小米 Xiaomi 14 Ultra 徕卡一英寸 影像旗舰手机 Acme 官方授权",
           "Leica Summilux 镜头 专业摄影", 549900, ("黑色", "白色"), MEMORY[1:3], "Xiaomi 14 Ultra", "6.73英寸",
           "Android", sales=6200),
    _phone(ACME, "ACME-NOVA13", "华为", "华为 HUAWEI nova 13 前置人像 5G手机 Acme 直发", "年轻人的影像手机",
           269900, ("星耀黑", "洛登绿", "羽砂白"), MEMORY[:2], "nova 13", "6.7英寸", "HarmonyOS", sales=10900),
    _phone(ACME, "ACME-RENO13", "OPPO", "OPPO Reno13 AI 影像 超美小直屏 5G手机", "实况照片 Live Photo", 269900,
           ("午夜黑", "蝶蝶紫"), MEMORY[:2], "Reno13", "6.59英寸", "Android", sales=8800),
    _phone(ACME, "ACME-S20", "vivo", "vivo S20 轻薄长续航 人像拍照 5G手机", "柔光环 Aura Light", 249900,
           ("玉露白", "松烟墨"), MEMORY[:2], "S20", "6.67英寸", "Android", sales=7400),
    _phone(ACME, "ACME-NOTE14", "小米", "Redmi Note 14 Pro+ 5G手机 澎湃电池", "Redmi by Xiaomi 2亿像素",
           179900, ("子夜黑", "镜瓷白", "星沙青"), MEMORY[:2], "Redmi Note 14 Pro+", "6.67英寸", "Android",
           sales=29800),
    ProductSeed(ACME, "ACME-BUDS6", "耳机音箱", "小米", "Redmi Buds 6 真无线蓝牙耳机 主动降噪",
                "49dB 深度降噪 Redmi earbuds", 29900, (_axis("颜色", "云峰白", "星空黑"),),
                (("型号", "Redmi Buds 6"), ("连接方式", "蓝牙"), ("降噪", "主动降噪")), 33100, weight_grams=50),
    ProductSeed(ACME, "ACME-WF5", "耳机音箱", "索尼", "索尼 Sony WF-1000XM5 真无线降噪耳机 Acme 保税直发",
                "旗舰降噪豆 LDAC", 169900, (_axis("颜色", "黑色", "铂金银"),),
                (("型号", "WF-1000XM5"), ("连接方式", "蓝牙"), ("降噪", "主动降噪")), 4100, weight_grams=50),
    ProductSeed(ACME, "ACME-ENCO", "耳机音箱", "OPPO", "OPPO Enco Air4 真无线蓝牙耳机 Acme 特惠",
                "半入耳 43dB 降噪 Enco earbuds", 19900, (_axis("颜色", "晨曦白", "暗夜黑"),),
                (("型号", "Enco Air4"), ("连接方式", "蓝牙"), ("降噪", "主动降噪")), 17600, weight_grams=50),
    ProductSeed(ACME, "ACME-HNPAD9", "平板电脑", "荣耀", "荣耀平板9 Honor Pad 9 12.1英寸 2.5K 平板电脑",
                "护眼大屏 八扬声器", 149900,
                (_axis("颜色", "星空灰"), _axis("存储容量", ("128GB", 0), ("256GB", 30000))),
                (("型号", "Honor Pad 9"), ("屏幕尺寸", "12.1英寸")), 5600, weight_grams=555),
    ProductSeed(ACME, "ACME-FIT3", "智能手表", "华为", "华为 HUAWEI WATCH FIT 3 轻薄智能手表 Acme 新品",
                "方形大屏 运动健康", 99900, (_axis("颜色", "曜石黑", "雪域白"), _axis("表盘尺寸", "1.82英寸")),
                (("型号", "WATCH FIT 3"), ("续航", "10天")), status="DRAFT", weight_grams=60),
    _phone(ACME, "ACME-MI15P", "小米", "小米 Xiaomi 15 Pro 限量版 徕卡潜望长焦 5G手机", "待审核新品 Pending review",
           529900, ("岩石灰", "云杉绿"), MEMORY[1:3], "Xiaomi 15 Pro", "6.73英寸", "Android", sales=0,
           status="PENDING_REVIEW"),
    # Lumen 服饰 (merchant 3)
    _shirt(LUMEN, "LM-OXFORD", "衬衫", "Lumen", "Lumen 男士牛津纺长袖衬衫 修身 Oxford Slim Shirt",
           "纯棉牛津纺 通勤休闲两穿", 25900, ("白色", "浅蓝色", "粉色"), SIZES[1:4], "纯棉", 14300),
    _shirt(LUMEN, "LM-NOIRON", "衬衫", "Lumen", "Lumen 免烫商务衬衫 男 Non-iron Business Shirt",
           "液氨免烫 抗皱挺括", 29900, ("白色", "浅灰色"), SIZES[1:4], "长绒棉", 8600),
    _shirt(LUMEN, "LM-LINEN", "衬衫", "Lumen", "Lumen 亚麻休闲短袖衬衫 男 Linen Short-sleeve Shirt",
           "夏季透气 度假风", 22900, ("米白色", "雾霾蓝", "橄榄绿"), SIZES[1:4], "亚麻", 5100),
    _shirt(LUMEN, "LM-TEE", "T恤", "Lumen", "Lumen 重磅纯棉圆领T恤 男 Heavyweight Tee", "260g 重磅 不易变形",
           9900, ("白色", "黑色", "燕麦色"), SIZES[1:4], "纯棉", 23800),
    _shirt(LUMEN, "LM-FLORAL", "连衣裙", "Lumen", "Lumen 法式碎花连衣裙 女 French Floral Dress",
           "收腰显瘦 温柔气质", 35900, ("蓝色碎花", "黄色碎花"), SIZES[:3], "雪纺", 9900),
    _shirt(LUMEN, "LM-KNIT", "连衣裙", "Lumen", "Lumen 针织长袖连衣裙 女 Knit Midi Dress", "秋冬打底 修身",
           39900, ("燕麦色", "黑色"), SIZES[:3], "羊毛混纺", 3700, member_price=True),
    _shirt(LUMEN, "LM-POLO", "T恤", "Lumen", "Lumen 条纹珠地POLO衫 男 Striped Polo", "翻领短袖 商务休闲",
           15900, ("藏青条纹",), SIZES[1:4], "珠地棉", 6400),
    _shirt(LUMEN, "LM-SILK", "衬衫", "Lumen", "Lumen 真丝衬衫 男 新品 Silk Shirt", "待审核新品 Pending review",
           89900, ("象牙白", "藏青色"), SIZES[1:4], "桑蚕丝", 0, status="PENDING_REVIEW"),
]
# listed six hours apart, newest first in this order
DEMO_PRODUCTS = [replace(seed, listed_hours_ago=6 * n + 1) for n, seed in enumerate(DEMO_PRODUCTS)]

# --- generated products for `scale_skus` ------------------------------------------------------

SCALE_CODE = "GEN"
_SERIES = ("Pro", "Ultra", "Lite", "Max", "Neo", "Plus", "Air", "Mini", "SE", "GT")
_PHONE_WORDS = ("旗舰影像", "轻薄长续航", "游戏性能", "商务", "学生", "5G 全网通", "AI 智能", "大电池")
_CLOTHES_WORDS = ("纯棉", "修身", "宽松", "商务", "休闲", "通勤", "oversize", "复古", "简约", "冰丝")
_CLOTHES_COLOURS = ("白色", "黑色", "浅蓝色", "灰色", "藏青色", "卡其色", "粉色", "燕麦色")
_PHONE_BRANDS = ("苹果", "华为", "小米", "OPPO", "vivo", "荣耀")
_AUDIO_BRANDS = ("苹果", "华为", "小米", "索尼", "OPPO", "vivo")
_CLOTHES_BRANDS = ("Lumen", "优衣库", "海澜之家", "李宁")
_BRAND_LABEL = {zh: zh if zh == en else f"{zh} {en}" for zh, en, _, _ in BRANDS}


def _mix(i: int, salt: int) -> int:
    """A stable pseudo-random number for product i (Python's hash() changes per process)."""
    return zlib.crc32(f"{salt}:{i}".encode())


def generated_product(i: int) -> ProductSeed:
    """The i-th generated product: numbered variants across categories, brands and merchants."""
    merchant = (PLATFORM, ACME, LUMEN)[i % 3]
    kind = i % 4
    code = f"{SCALE_CODE}{i:06d}"
    series = _SERIES[_mix(i, 1) % len(_SERIES)]
    sales = _mix(i, 2) % 50000
    hours = _mix(i, 9) % (24 * 180)
    if kind in (0, 1) and merchant != LUMEN:
        brand = _PHONE_BRANDS[_mix(i, 3) % len(_PHONE_BRANDS)]
        word = _PHONE_WORDS[_mix(i, 4) % len(_PHONE_WORDS)]
        colours = tuple(PHONE_COLOURS[(_mix(i, 5) + k) % len(PHONE_COLOURS)] for k in range(2))
        start = _mix(i, 6) % 2
        return _phone(merchant, code, brand, f"{_BRAND_LABEL[brand]} {series} {i} {word} 5G手机",
                      f"{word} 第{i}号 generated phone", 99900 + (_mix(i, 7) % 60) * 10000, colours,
                      MEMORY[start:start + 3], f"{series} {i}", "6.7英寸", "Android", sales=sales,
                      listed_hours_ago=hours)
    if (kind == 2 and merchant != LUMEN) or (kind == 3 and merchant == ACME):  # Acme sells no clothes
        brand = _AUDIO_BRANDS[_mix(i, 3) % len(_AUDIO_BRANDS)]
        return ProductSeed(merchant, code, "耳机音箱", brand,
                           f"{_BRAND_LABEL[brand]} Buds {series} {i} 真无线降噪耳机",
                           "蓝牙 5.4 主动降噪 wireless earbuds", 19900 + (_mix(i, 7) % 40) * 5000,
                           (_axis("颜色", "黑色", "白色"),),
                           (("型号", f"Buds {series} {i}"), ("连接方式", "蓝牙"), ("降噪", "主动降噪")),
                           sales, weight_grams=50, listed_hours_ago=hours)
    category = ("衬衫", "T恤", "连衣裙")[_mix(i, 8) % 3]
    brand = _CLOTHES_BRANDS[_mix(i, 3) % len(_CLOTHES_BRANDS)]
    word = _CLOTHES_WORDS[_mix(i, 4) % len(_CLOTHES_WORDS)]
    colours = tuple(_CLOTHES_COLOURS[(_mix(i, 5) + k) % len(_CLOTHES_COLOURS)] for k in range(2))
    noun = {"衬衫": "长袖衬衫 Shirt", "T恤": "短袖T恤 Tee", "连衣裙": "连衣裙 Dress"}[category]
    return _shirt(merchant, code, category, brand, f"{_BRAND_LABEL[brand]} {word}{noun} {series} {i}",
                  f"{word} 第{i}号 generated apparel", 5900 + (_mix(i, 7) % 50) * 1000, colours, SIZES[1:4],
                  "纯棉", sales, listed_hours_ago=hours)


# --- loading ----------------------------------------------------------------------------------


@dataclass
class CatalogIds:
    """Ids of the demo catalog's reference rows, found by their natural keys."""
    categories: dict[str, int] = field(default_factory=dict)          # leaf name → id
    attributes: dict[tuple[str, str], int] = field(default_factory=dict)  # (leaf, attribute) → id
    brands: dict[str, int] = field(default_factory=dict)              # 中文名 → id
    warehouses: dict[str, int] = field(default_factory=dict)          # name → id


async def seed_demo(db: Database, scale_skus: int = 0, progress: Callable[[str], None] = print) -> None:
    """Accounts, catalog reference data and the demo products; then grow to `scale_skus` SKUs."""
    progress("loading demo data")
    async with db.transaction() as conn:
        await conn.execute("SELECT pg_advisory_xact_lock($1)", SEED_LOCK)
        await _seed_accounts(conn)
        ids = await _seed_catalog_setup(conn)
        added = await insert_products(conn, ids, DEMO_PRODUCTS)
        await _seed_promotions(conn)
        await _seed_supply(conn, ids)
        await _seed_fulfilment_partners(conn)
        await _seed_review_demo(conn)
        await _seed_address_book(conn)
        await _seed_topup_supplier(conn)
        await _seed_aftersale_demo(conn)
        await _seed_onboarding_demo(conn)
        await _seed_payouts_demo(conn)
        await _seed_credit(conn)
        await _seed_ledger_of_demo_orders(conn)
        settle = await _seed_settlement_demo(conn)
    if settle:
        await settlement.run(db, settle, actor="system:demo")
    progress(f"demo data ready ({added} demo products added)")
    if scale_skus:
        await _grow_catalog(db, ids, scale_skus, progress)


DEMO_ID_NUMBER = "11010519960520123X"     # a valid (made-up) resident ID: born 1996-05-20


async def _seed_credit(conn: asyncpg.Connection) -> None:
    """The demo buyer applies for credit (scored like anyone: ¥25,000 a month at 30 ⇒ tier A,
    ¥50,000), so checkout previews list installment plans. Once. No interest-free offer: it would
    change every demo checkout's fees (the back office creates one to try it)."""
    buyer = await conn.fetchval("SELECT id FROM buyers WHERE phone = $1", DEMO_LOGINS[0][1])
    if await conn.fetchval("SELECT 1 FROM credit_applications WHERE buyer_id = $1", buyer):
        return
    now = datetime.now(UTC)
    await credit_lines.apply(conn, get_settings(), buyer, DEMO_ID_NUMBER, 2_500_000, DEMO_LOGINS[0][1], 10, now)


# the platform's warehouses are run by sandbox partner systems (app/sandbox/partners.py): paid
# orders of self-operated goods are pushed there, acknowledged, shipped and tracked
PARTNER_WAREHOUSES = {SHANGHAI.name: "shanghai-dc", GUANGZHOU.name: "guangzhou-dc"}


async def _seed_fulfilment_partners(conn: asyncpg.Connection) -> None:
    """Sandbox endpoints for the platform's physical warehouses, signed with the sandbox partner
    secret (the one secret every sandbox partner verifies); a warehouse given a real endpoint
    keeps it."""
    await conn.execute(
        "UPDATE warehouses w SET endpoint_url = 'sandbox://fulfilment/' || t.code, secret = $3, partner_code = t.code"
        " FROM unnest($1::text[], $2::text[]) AS t(name, code)"
        " WHERE w.merchant_id = $4 AND w.name = t.name AND w.endpoint_url IS NULL",
        list(PARTNER_WAREHOUSES), list(PARTNER_WAREHOUSES.values()), get_settings().sandbox_partner_secret, PLATFORM)


async def _seed_accounts(conn: asyncpg.Connection) -> None:
    for mid, name, kind in MERCHANTS:
        await conn.execute(
            "INSERT INTO merchants (id, name, kind) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING",
            mid, name, kind)
    await conn.execute("SELECT setval(pg_get_serial_sequence('merchants', 'id'),"
                       " greatest((SELECT max(id) FROM merchants), 1))")
    if not await conn.fetchval("SELECT 1 FROM buyers WHERE phone = '13800000001'"):
        await conn.execute("INSERT INTO buyers (phone, password_hash, nickname) VALUES ($1, $2, 'Demo Buyer')"
                           " ON CONFLICT (phone) DO NOTHING", "13800000001", await hash_password(DEMO_PASSWORD))
    await create_staff(conn, "admin", DEMO_PASSWORD, "ADMIN", display_name="Demo Admin")
    await create_staff(conn, "acme-owner", DEMO_PASSWORD, "MERCHANT", ACME, "OWNER", "Acme Owner")
    await create_staff(conn, "lumen-owner", DEMO_PASSWORD, "MERCHANT", LUMEN, "OWNER", "Lumen Owner")


DEMO_ADDRESSES = [
    # (receiver, phone, region, detail, label, default) — the default in 深圳市南山区, where the
    # self-operated warehouse delivers
    ("张三", "13800138000", "440305", "科技园南区 1 栋 101", "家", True),
    ("张三", "13800138000", "110105", "朝阳区建国路 88 号 SOHO 现代城", "公司", False),
]


async def _seed_address_book(conn: asyncpg.Connection) -> None:
    """The demo buyer's address book (docs/accounts.md), once: placeOrder without an address and
    checkoutPreview without a region use its default."""
    buyer = await conn.fetchval("SELECT id FROM buyers WHERE phone = $1", DEMO_LOGINS[0][1])
    if await conn.fetchval("SELECT EXISTS (SELECT 1 FROM buyer_addresses WHERE buyer_id = $1)", buyer):
        return
    await conn.executemany(
        "INSERT INTO buyer_addresses (buyer_id, receiver, phone, region_code, detail, label, is_default)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7)", [(buyer, *a) for a in DEMO_ADDRESSES])


async def _seed_catalog_setup(conn: asyncpg.Connection) -> CatalogIds:
    """Regions, warehouses, backend/frontend categories, attribute templates and brands."""
    ids = CatalogIds()
    await conn.executemany("INSERT INTO regions (code, name) VALUES ($1, $2) ON CONFLICT (code) DO NOTHING",
                           list(REGIONS.items()))
    for w in WAREHOUSES:
        wid = await conn.fetchval("SELECT id FROM warehouses WHERE merchant_id = $1 AND name = $2",
                                  w.merchant_id, w.name)
        if wid is None:
            wid = await conn.fetchval(
                "INSERT INTO warehouses (merchant_id, name, address, region_code, priority)"
                " VALUES ($1, $2, $3, $4, $5) RETURNING id", w.merchant_id, w.name, w.address, w.region_code,
                w.priority)
        ids.warehouses[w.name] = wid
        await conn.execute(
            "INSERT INTO warehouse_regions (warehouse_id, region_code) SELECT $1, unnest($2::text[])"
            " ON CONFLICT DO NOTHING", wid, list(w.covers))

    path_ids: dict[tuple[str, ...], int] = {}
    for path, rate, attributes in BACKEND_CATEGORIES:
        parent = path_ids.get(path[:-1])
        cid = await conn.fetchval(
            "SELECT id FROM backend_categories WHERE coalesce(parent_id, 0) = coalesce($1::bigint, 0)"
            " AND name = $2", parent, path[-1])
        if cid is None:
            cid = await conn.fetchval(
                "INSERT INTO backend_categories (parent_id, name, depth, is_leaf, commission_rate, sort)"
                " VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                parent, path[-1], len(path), bool(attributes), Decimal(rate), len(path_ids))
        path_ids[path] = cid
        if attributes:
            ids.categories[path[-1]] = cid
        for sort, a in enumerate(attributes):
            ids.attributes[path[-1], a.name] = await conn.fetchval(
                "INSERT INTO attributes (category_id, name, kind, filterable, required, sort)"
                " VALUES ($1, $2, $3, $4, $5, $6)"
                " ON CONFLICT (category_id, name) DO UPDATE SET kind = attributes.kind RETURNING id",
                cid, a.name, a.kind, a.filterable, a.required, sort)
    await conn.executemany("INSERT INTO merchant_categories (merchant_id, category_id) VALUES ($1, $2)"
                           " ON CONFLICT DO NOTHING",
                           [(merchant_id, path_ids[path]) for merchant_id, path in SHOP_CATEGORIES])
    for merchant_id, path, rate in MERCHANT_COMMISSIONS:
        await conn.execute("INSERT INTO merchant_commission_rates (merchant_id, category_id, commission_rate)"
                           " VALUES ($1, $2, $3) ON CONFLICT DO NOTHING", merchant_id, path_ids[path], Decimal(rate))

    frontend: dict[str, int] = {}
    for sort, (parent_name, name, leaves) in enumerate(FRONTEND_CATEGORIES):
        parent_id = None if parent_name is None else frontend.get(parent_name)
        fid = await conn.fetchval(
            "SELECT id FROM frontend_categories WHERE parent_id IS NOT DISTINCT FROM $1 AND name = $2",
            parent_id, name)
        if fid is None:
            fid = await conn.fetchval("INSERT INTO frontend_categories (parent_id, name, sort)"
                                      " VALUES ($1, $2, $3) RETURNING id", parent_id, name, sort)
        frontend[name] = fid
        await conn.execute(
            "INSERT INTO frontend_category_mappings (frontend_category_id, backend_category_id)"
            " SELECT $1, unnest($2::bigint[]) ON CONFLICT DO NOTHING", fid, [ids.categories[x] for x in leaves])

    for name_zh, name_en, origin, leaves in BRANDS:
        bid = await conn.fetchval("SELECT id FROM brands WHERE lower(name_zh) = lower($1)", name_zh)
        if bid is None:
            bid = await conn.fetchval(
                "INSERT INTO brands (name_zh, name_en, origin, logo_url) VALUES ($1, $2, $3, $4) RETURNING id",
                name_zh, name_en, origin, f"https://picsum.photos/seed/brand-{name_en.lower()}/200/200")
        ids.brands[name_zh] = bid
        await conn.execute("INSERT INTO brand_categories (brand_id, category_id) SELECT $1, unnest($2::bigint[])"
                           " ON CONFLICT DO NOTHING", bid, [ids.categories[x] for x in leaves])
    return ids


def _stock_level(code: str) -> int:
    """Deterministic stock: about 8 % sold out, 10 % low (1–5), the rest 20–499."""
    h = zlib.crc32(code.encode()) % 1000
    if h < 80:
        return 0
    if h < 180:
        return h % 5 + 1
    return 20 + h * 7 % 480


def _history(seed: ProductSeed, listed_at: datetime | None) -> list[tuple[str | None, str, str]]:
    """(from, to, reason) rows that lead a product to its seeded status."""
    steps: list[tuple[str | None, str, str]] = [(None, "DRAFT", "created")]
    if seed.status == "DRAFT":
        return steps
    if seed.merchant_id == PLATFORM:
        steps.append(("DRAFT", "APPROVED", "self-operated, review skipped"))
    else:
        steps.append(("DRAFT", "PENDING_REVIEW", "submitted"))
        if seed.status == "PENDING_REVIEW":
            return steps
        steps.append(("PENDING_REVIEW", "APPROVED", "approved"))
    if listed_at is not None:
        steps.append(("APPROVED", "LISTED", "listed"))
    return steps


async def insert_products(conn: asyncpg.Connection, ids: CatalogIds, seeds: list[ProductSeed]) -> int:
    """Insert the products not there yet (by merchant and title) with images, attributes, SKUs,
    stock and status history; refresh their search columns. Returns how many were added."""
    titles = [s.title for s in seeds]
    existing = {(r["merchant_id"], r["title"]) for r in await conn.fetch(
        "SELECT merchant_id, title FROM products WHERE title = ANY($1::text[])", titles)}
    seeds = [s for s in seeds if (s.merchant_id, s.title) not in existing]
    if not seeds:
        return 0
    values = await _attribute_value_ids(conn, ids, seeds)
    now = datetime.now(UTC)

    listed_at = [now - timedelta(hours=s.listed_hours_ago) if s.status == "LISTED" else None for s in seeds]
    rows = await conn.fetch(
        """
        INSERT INTO products (merchant_id, category_id, brand_id, title, subtitle, description,
                              fulfillment_type, status, listed_at, sales_count, created_at)
        SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::text[], $5::text[], $6::text[],
                             $7::text[], $8::text[], $9::timestamptz[], $10::bigint[], $11::timestamptz[])
        RETURNING id, merchant_id, title
        """,
        [s.merchant_id for s in seeds], [ids.categories[s.category] for s in seeds],
        [ids.brands[s.brand] if s.brand else None for s in seeds], [s.title for s in seeds],
        [s.subtitle for s in seeds],
        [f"<h2>{s.title}</h2><p>{s.subtitle}</p><img src=\"{_image(s.code, 'detail')}\">" for s in seeds],
        [s.fulfillment for s in seeds], [s.status for s in seeds], listed_at, [s.sales for s in seeds],
        [at - timedelta(days=1) if at else now for at in listed_at])
    product_id = {(r["merchant_id"], r["title"]): r["id"] for r in rows}
    pids = [product_id[s.merchant_id, s.title] for s in seeds]

    images, attributes, sales_values, skus, history = [], [], [], [], []
    for pid, seed, at in zip(pids, seeds, listed_at):
        images += [(pid, _image(seed.code, n), n) for n in range(3)]
        for name, value in seed.attributes:
            aid = ids.attributes[seed.category, name]
            attributes.append((pid, aid, values.get((aid, value)), None if (aid, value) in values else value))
        for attr, axis_values in seed.axes:
            aid = ids.attributes[seed.category, attr]
            for sort, (value, _) in enumerate(axis_values):
                image = _image(seed.code, f"{attr}-{sort}") if attr == "颜色" else None
                sales_values.append((pid, aid, values[aid, value], image, sort))
        skus += _sku_rows(pid, seed, ids, values)
        steps = _history(seed, at)
        for step, (frm, to, reason) in enumerate(steps):
            history.append((pid, frm, to, "system", f"demo data: {reason}",
                            (at or now) - timedelta(hours=len(steps) - 1 - step)))

    await conn.execute(
        "INSERT INTO product_images (product_id, url, sort)"
        " SELECT * FROM unnest($1::bigint[], $2::text[], $3::int[])", *map(list, zip(*images)))
    if attributes:
        await conn.execute(
            "INSERT INTO product_attributes (product_id, attribute_id, value_id, text_value)"
            " SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::text[])", *map(list, zip(*attributes)))
    await conn.execute(
        "INSERT INTO product_sales_values (product_id, attribute_id, value_id, image_url, sort)"
        " SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::text[], $5::int[])",
        *map(list, zip(*sales_values)))
    sku_rows = await conn.fetch(
        """
        INSERT INTO skus (product_id, merchant_id, code, spec_value_ids, spec_label, price, list_price,
                          member_price, member_level, weight_grams, image_url, sales_count)
        SELECT p, m, c, s::bigint[], l, pr, lp, mp, ml, w, i, sc
          FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::bigint[], $7::bigint[],
                      $8::bigint[], $9::int[], $10::int[], $11::text[], $12::bigint[])
               AS t (p, m, c, s, l, pr, lp, mp, ml, w, i, sc)
        RETURNING id, merchant_id, code
        """, *map(list, zip(*skus)))
    await conn.execute("UPDATE skus s SET recharge_account_kind = 'PHONE' FROM products p WHERE p.id = s.product_id"
                       " AND p.id = ANY($1::bigint[]) AND p.fulfillment_type = 'VIRTUAL'", pids)
    await conn.execute(
        "INSERT INTO stock (sku_id, warehouse_id, on_hand) SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bigint[])",
        *map(list, zip(*_stock_rows(ids, seeds, sku_rows))))
    await conn.execute(
        "INSERT INTO product_status_history (product_id, from_status, to_status, actor, reason, created_at)"
        " SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::timestamptz[])",
        *map(list, zip(*history)))
    await refresh_product_index(conn, pids)
    return len(seeds)


def _sku_rows(pid: int, seed: ProductSeed, ids: CatalogIds, values: dict[tuple[int, str], int]) -> list[tuple]:
    """Rows for the `skus` insert; a SKU shows its colour's image, sales spread over the SKUs."""
    sku_list = list(seed.skus())
    colour_sort = {v: n for n, (v, _) in enumerate(dict(seed.axes).get("颜色", ()))}
    rows = []
    for n, (code, spec, price) in enumerate(sku_list):
        spec_ids = sorted(values[ids.attributes[seed.category, a], v] for a, v in spec)
        colour = dict(spec).get("颜色")
        member = price * 95 // 10000 * 100 if seed.member_price else None
        rows.append((pid, seed.merchant_id, code, "{" + ",".join(map(str, spec_ids)) + "}",
                     " / ".join(v for _, v in spec), price, _list_price(seed, spec, price), member,
                     1 if member else None, seed.weight_grams,
                     _image(seed.code, f"颜色-{colour_sort[colour]}" if colour else 0),
                     seed.sales // len(sku_list) + (seed.sales % len(sku_list) if n == 0 else 0)))
    return rows


def _stock_rows(ids: CatalogIds, seeds: list[ProductSeed], sku_rows) -> list[tuple[int, int, int]]:
    """Virtual SKUs: a large stock in the virtual-goods warehouse; the platform's physical SKUs:
    Shanghai and Guangzhou (Guangzhou holds none of a low-stock SKU); merchants: their own.
    Dropship SKUs: none here — their supplier declares it (`_seed_supply`)."""
    fulfillment = {(s.merchant_id, s.code): s.fulfillment for s in seeds}
    rows = []
    for r in sku_rows:
        merchant, code = r["merchant_id"], r["code"]
        kind = fulfillment[merchant, code.rsplit("-", 1)[0]]
        if kind == "VIRTUAL":
            rows.append((r["id"], ids.warehouses[VIRTUAL_STOCK.name], 100_000))
            continue
        if kind == "DROPSHIP":
            continue
        level = _stock_level(code)
        for n, w in enumerate(PHYSICAL_WAREHOUSES[merchant]):
            rows.append((r["id"], ids.warehouses[w.name], level if n == 0 or level > 5 else 0))
    return rows


def _list_price(seed: ProductSeed, spec: tuple[tuple[str, str], ...], price: int) -> int | None:
    """A top-up's face value ('30元' → 3000 cents); physical goods 10 % above the price."""
    if seed.fulfillment == "VIRTUAL":
        face = dict(spec).get("面值", "")
        return int(face.removesuffix("元")) * 100 if face else None
    return price * 11 // 1000 * 100


def _image(code: str, name) -> str:
    return f"https://picsum.photos/seed/{code.lower()}-{name}/800/800"


async def _attribute_value_ids(conn: asyncpg.Connection, ids: CatalogIds,
                               seeds: list[ProductSeed]) -> dict[tuple[int, str], int]:
    """Enumerated values (SALES values, KEY and filterable attributes) by (attribute id, value)."""
    kinds = {r["id"]: r for r in await conn.fetch(
        "SELECT id, kind, filterable FROM attributes WHERE id = ANY($1::bigint[])", list(ids.attributes.values()))}
    wanted: dict[tuple[int, str], int] = {}
    for seed in seeds:
        for attr, axis_values in seed.axes:
            for sort, (value, _) in enumerate(axis_values):
                wanted.setdefault((ids.attributes[seed.category, attr], value), sort)
        for attr, value in seed.attributes:
            aid = ids.attributes[seed.category, attr]
            if kinds[aid]["kind"] == "KEY" or kinds[aid]["filterable"]:
                wanted.setdefault((aid, value), 0)
    pairs = list(wanted)
    await conn.execute(
        "INSERT INTO attribute_values (attribute_id, value, sort)"
        " SELECT * FROM unnest($1::bigint[], $2::text[], $3::int[]) ON CONFLICT (attribute_id, value) DO NOTHING",
        [a for a, _ in pairs], [v for _, v in pairs], [wanted[p] for p in pairs])
    rows = await conn.fetch(
        "SELECT v.id, v.attribute_id, v.value FROM attribute_values v"
        " JOIN unnest($1::bigint[], $2::text[]) AS w (a, val) ON v.attribute_id = w.a AND v.value = w.val",
        [a for a, _ in pairs], [v for _, v in pairs])
    return {(r["attribute_id"], r["value"]): r["id"] for r in rows}


async def _grow_catalog(db: Database, ids: CatalogIds, target_skus: int, progress) -> None:
    """Add generated listed products, a batch per transaction, until the catalog has the SKUs."""
    while True:
        async with db.transaction() as conn:
            await conn.execute("SELECT pg_advisory_xact_lock($1)", SEED_LOCK)
            have = await conn.fetchval("SELECT count(*) FROM skus")
            if have >= target_skus:
                break
            last = await conn.fetchval(
                f"SELECT max(substring(code from '^{SCALE_CODE}([0-9]+)-')::int) FROM skus"
                f" WHERE code LIKE '{SCALE_CODE}%'")
            batch: list[ProductSeed] = []
            adding, i = 0, (last + 1 if last is not None else 0)
            while have + adding < target_skus and len(batch) < BATCH_PRODUCTS:
                seed = generated_product(i)
                batch.append(seed)
                adding += len(list(seed.skus()))
                i += 1
            await insert_products(conn, ids, batch)
        progress(f"scaling catalog: {have + adding}/{target_skus} SKUs")
    async with db.connection() as conn:  # fresh planner statistics after a bulk load
        await conn.execute("ANALYZE products, skus, stock, product_images, product_attributes, product_sales_values")
    progress(f"catalog has {have} SKUs (target {target_skus})")


DEMO_ACTOR = "demo"
# The REALTIME_API supplier the platform's top-ups are bought from (the sandbox one); the
# supply onboarding writes the same row (same name, unique), so whichever runs first writes it.
TOPUP_SUPPLIER = "话费通 TopUp Hub"
TOPUP_SUPPLIER_ENDPOINT = "sandbox://topup/hub"


async def _seed_topup_supplier(conn: asyncpg.Connection) -> None:
    """The top-up supplier and its contract for every platform virtual SKU (at 98 % of the
    price, code TH-<SKU code>), so a paid top-up is bought at once (app/topup/); lines that exist
    already are left as they are."""
    await conn.execute(
        "INSERT INTO suppliers (name, kind, contact_name, settlement_terms, endpoint_url, secret)"
        " VALUES ($1, 'REALTIME_API', '赵经理', 'PREPAID', $2, $3) ON CONFLICT ((lower(name))) DO NOTHING",
        TOPUP_SUPPLIER, TOPUP_SUPPLIER_ENDPOINT, get_settings().sandbox_partner_secret)
    await conn.execute(
        "INSERT INTO supplier_skus (supplier_id, sku_id, purchase_price, supplier_sku_code)"
        " SELECT su.id, s.id, s.price * 98 / 100, 'TH-' || s.code FROM suppliers su, skus s JOIN products p ON p.id = s.product_id"
        " WHERE lower(su.name) = lower($1) AND p.merchant_id = $2 AND p.fulfillment_type = 'VIRTUAL'"
        " ON CONFLICT DO NOTHING", TOPUP_SUPPLIER, PLATFORM)


async def _seed_promotions(conn: asyncpg.Connection) -> None:
    """Freight templates, one running promotion of most kinds and coupons, some in the demo
    buyer's wallet, so a checkout preview in GraphiQL shows every step of DOMAIN §4.2. Written
    once: skipped when the demo promotions exist."""
    if await conn.fetchval("SELECT 1 FROM promotions WHERE created_by = $1 LIMIT 1", DEMO_ACTOR):
        return
    now = datetime.now(UTC)
    window = (now - timedelta(days=1), now + timedelta(days=365))
    await conn.executemany(
        "INSERT INTO freight_templates (merchant_id, default_fee, free_threshold) VALUES ($1, $2, $3)"
        " ON CONFLICT (merchant_id) DO NOTHING", [(ACME, 800, 9900), (LUMEN, 1000, 19900)])
    await conn.executemany(
        "INSERT INTO freight_template_regions (merchant_id, region_code, fee) VALUES ($1, $2, $3)"
        " ON CONFLICT DO NOTHING", [(ACME, "650000", 2000), (ACME, "540000", 2000), (LUMEN, "650000", 2500)])
    promotions = [
        # (merchant, kind, name, whole scope, rule, funder, platform percent)
        (ACME, "FULL_REDUCTION", "Acme 满300减30 满500减60", True,
         {"tiers": [{"threshold": 30000, "amount": 3000}, {"threshold": 50000, "amount": 6000}]}, None, 0),
        (LUMEN, "FULL_DISCOUNT", "Lumen 两件九折", True, {"rate": 90, "threshold_items": 2}, None, 0),
        (None, "FULL_REDUCTION", "手机数码 每满1000减50 最高减300", False,
         {"per_every": {"step": 100000, "amount": 5000, "cap": 30000}}, "SPLIT", 50),
        (None, "PAYMENT", "银行卡支付满100立减10", True,
         {"channel": "BANK_CARD", "amount": 1000, "threshold_amount": 10000}, None, 0),
    ]
    digital = await conn.fetchval("SELECT id FROM backend_categories WHERE parent_id IS NULL AND name = '手机数码'")
    for merchant, kind, name, whole, rule, funder, percent in promotions:
        await conn.execute(
            "INSERT INTO promotions (merchant_id, kind, name, status, starts_at, ends_at, whole_scope, category_ids,"
            " rule, funder, platform_percent, budget, created_by)"
            " VALUES ($1, $2, $3, 'ACTIVE', $4, $5, $6, $7, $8, $9, $10, $11, $12)",
            merchant, kind, name, *window, whole, [] if whole else [digital], rule, funder, percent,
            100_000_00 if kind == "PAYMENT" else None, DEMO_ACTOR)
    direct = await conn.fetchval(
        "INSERT INTO promotions (merchant_id, kind, name, status, starts_at, ends_at, rule, priority, created_by)"
        " VALUES ($1, 'DIRECT', 'Redmi K80 直降200', 'ACTIVE', $2, $3, $4, 10, $5) RETURNING id",
        PLATFORM, *window, {"unit_amount_off": 20000, "per_buyer_cap": 2}, DEMO_ACTOR)
    await conn.execute(
        "INSERT INTO promotion_skus (promotion_id, sku_id, merchant_id, decided_by, decided_at)"
        " SELECT $1, id, merchant_id, $2, now() FROM skus WHERE merchant_id = $3 AND code LIKE 'MI-K80-%'",
        direct, DEMO_ACTOR, PLATFORM)
    coupons = [
        # (kind, merchant, name, threshold, amount)
        ("SHOP", ACME, "Acme 店铺券 满200减20", 20000, 2000),
        ("PLATFORM", None, "平台券 满100减10", 10000, 1000),
        ("NEW_USER", None, "新人券 立减15", 0, 1500),
    ]
    buyer = await conn.fetchval("SELECT id FROM buyers WHERE phone = $1", DEMO_LOGINS[0][1])
    for kind, merchant, name, threshold, amount in coupons:
        template = await conn.fetchval(
            "INSERT INTO coupon_templates (kind, merchant_id, name, status, threshold, amount, claim_starts_at,"
            " claim_ends_at, valid_days, total_stock, issued, per_buyer_limit, created_by)"
            " VALUES ($1, $2, $3, 'ACTIVE', $4, $5, $6, $7, 30, 10000, 1, 1, $8) RETURNING id",
            kind, merchant, name, threshold, amount, *window, DEMO_ACTOR)
        await conn.execute("INSERT INTO buyer_coupons (template_id, buyer_id, expires_at) VALUES ($1, $2, $3)",
                           template, buyer, now + timedelta(days=30))


# --- supply (DOMAIN §6): stock and dropship suppliers ---------------------------------------

STOCK_SUPPLIER = "华东数码供应链 East China Digital Supply"
DROPSHIP_SUPPLIER = "优品代发 Youpin Dropship"
DEMO_PURCHASE_ORDER = "DEMO-PO-0001"
SUPPLY_ACTOR = "system:demo"


async def _seed_supply(conn: asyncpg.Connection, ids: CatalogIds) -> None:
    """A STOCK supplier of the self-operated phones with one received purchase order into the
    Shanghai DC; a DROPSHIP supplier (its warehouse, regions, contract and declared stock) for the
    dropship products (the REALTIME_API one is `_seed_topup_supplier`'s). Through the supply
    services, each piece only when it is not there yet."""
    async def supplier(name: str, **fields) -> int:
        pk = await conn.fetchval("SELECT id FROM suppliers WHERE name = $1", name)
        return pk or (await suppliers.create_supplier(conn, SUPPLY_ACTOR, name=name, **fields))["id"]

    async def platform_skus(fulfilment: str, category: str | None = None) -> list[asyncpg.Record]:
        return await conn.fetch(
            "SELECT k.id, k.code, k.price FROM skus k JOIN products p ON p.id = k.product_id"
            " WHERE k.merchant_id = $1 AND p.fulfillment_type = $2 AND ($3::bigint IS NULL OR p.category_id = $3)"
            " AND p.status = 'LISTED' ORDER BY k.code", PLATFORM, fulfilment,
            None if category is None else ids.categories[category])

    stock_id = await supplier(STOCK_SUPPLIER, kind="STOCK", contact_name="王经理", contact_phone="021-55550101",
                              settlement_terms="NET_30")
    phones = await platform_skus("WAREHOUSE", "手机")
    for sku in phones:
        await suppliers.set_contract_line(conn, stock_id, sku["id"], sku["price"] * 85 // 100, f"EC-{sku['code']}")
    if not await conn.fetchval("SELECT EXISTS (SELECT 1 FROM purchase_orders WHERE reference = $1)",
                               DEMO_PURCHASE_ORDER):
        well_stocked = [s for s in phones if _stock_level(s["code"]) >= 20][:2]
        items = [purchasing.Quantity(s["id"], 10) for s in well_stocked]
        po = await purchasing.create_purchase_order(conn, SUPPLY_ACTOR, stock_id, ids.warehouses[SHANGHAI.name],
                                                    items, DEMO_PURCHASE_ORDER, "demo: restock two phones")
        await purchasing.change_purchase_order(conn, SUPPLY_ACTOR, po["id"], PurchaseOrderAction.SUBMIT)
        await purchasing.receive(conn, SUPPLY_ACTOR, po["id"], items, "demo: all arrived")

    dropship_id = await supplier(DROPSHIP_SUPPLIER, kind="DROPSHIP", contact_name="李经理",
                                 contact_phone="0571-55550202", settlement_terms="MONTHLY",
                                 endpoint_url="sandbox://fulfilment/youpin",
                                 secret=get_settings().sandbox_partner_secret,
                                 delivery_region_codes=sorted(set(EAST + SOUTH + ["110000"])))
    dropship = await platform_skus("DROPSHIP")
    declared = await warehouses.available_in(conn, await suppliers.warehouse_id_of(conn, dropship_id),
                                             [s["id"] for s in dropship])
    for sku in dropship:
        await suppliers.set_contract_line(conn, dropship_id, sku["id"], sku["price"] * 80 // 100, f"YP-{sku['code']}")
        if sku["id"] not in declared:
            await suppliers.declare_stock(conn, dropship_id, sku["id"], 50)


REVIEW_BUYER_PHONE = "13800000002"


async def _seed_review_demo(conn: asyncpg.Connection) -> None:
    """A second demo buyer ("Review Buyer", same password) with a received Acme order of two
    products, waiting in the 待评价 tab: sign in, POST /uploads an image, then createReview each
    line (docs/reviews.md). Written once."""
    buyer = await conn.fetchval("SELECT id FROM buyers WHERE phone = $1", REVIEW_BUYER_PHONE)
    if buyer is not None:
        return
    buyer = await conn.fetchval("INSERT INTO buyers (phone, password_hash, nickname) VALUES ($1, $2, '评价体验官')"
                                " RETURNING id", REVIEW_BUYER_PHONE, await hash_password(DEMO_PASSWORD))
    goods = await conn.fetch(
        "SELECT DISTINCT ON (p.id) p.id AS product_id, p.title, s.id AS sku_id, s.spec_label, s.price"
        " FROM products p JOIN skus s ON s.product_id = p.id"
        " WHERE p.merchant_id = $1 AND p.status = 'LISTED' AND p.fulfillment_type <> 'VIRTUAL'"
        " ORDER BY p.id, s.id LIMIT 2", ACME)
    total = sum(g["price"] for g in goods)
    address = {"receiver": "评价体验官", "phone": "13800000002", "region_code": "440305", "detail": "科技园南区 1 栋"}
    po = await conn.fetchval(
        "INSERT INTO payment_orders (buyer_id, idempotency_key, request_hash, status, goods_total, total_discount,"
        " shipping_total, payable, pricing, expires_at, paid_at) VALUES ($1, 'demo-review-order', 'demo', 'PAID', $2, 0,"
        " 0, $2, '{}', now(), now()) RETURNING id", buyer, total)
    order = await conn.fetchval(
        "INSERT INTO orders (payment_order_id, buyer_id, merchant_id, status, payment_status, logistics_status,"
        " goods_total, discount, shipping, payable, address, carrier, tracking_number, paid_at, shipped_at, received_at)"
        " VALUES ($1, $2, $3, 'RECEIVED', 'PAID', 'SIGNED', $4, 0, 0, $4, $5, 'SF', 'SF0000000001', now(), now(), now())"
        " RETURNING id", po, buyer, ACME, total, address)
    for n, g in enumerate(goods, 1):
        await conn.execute(
            "INSERT INTO order_lines (order_id, sku_id, product_id, title, spec_label, position, quantity, price,"
            " unit_price, goods_amount, paid_amount) VALUES ($1, $2, $3, $4, $5, $6, 1, $7, $7, $7, $7)",
            order, g["sku_id"], g["product_id"], g["title"], g["spec_label"] or "", n, g["price"])
    await conn.executemany(
        "INSERT INTO order_status_history (order_id, from_status, to_status, actor) VALUES ($1, $2, $3, 'system:demo')",
        [(order, None, "PENDING_PAYMENT"), (order, "PENDING_PAYMENT", "PAID"), (order, "PAID", "SHIPPED"),
         (order, "SHIPPED", "RECEIVED")])


AFTERSALE_BUYER_PHONE = "13800000003"
AFTERSALE_SKU = "LM-OXFORD-01"


async def _seed_aftersale_demo(conn: asyncpg.Connection) -> None:
    """A third demo buyer ("售后体验官", same password) who received a Lumen order of two shirts
    yesterday and asked, through the after-sale rules themselves, to return one (RETURN_REFUND,
    WRONG_SIZE): it waits in `lumen-owner`'s afterSaleQueue (docs/aftersale.md). The second shirt
    is free for another after-sale. The order's payment was never made at the sandbox provider,
    so a refund of it stays unsent; the guide says how to see one end to end. Written once."""
    if await conn.fetchval("SELECT 1 FROM buyers WHERE phone = $1", AFTERSALE_BUYER_PHONE):
        return
    now = datetime.now(UTC)
    buyer = await conn.fetchval("INSERT INTO buyers (phone, password_hash, nickname) VALUES ($1, $2, '售后体验官')"
                                " RETURNING id", AFTERSALE_BUYER_PHONE, await hash_password(DEMO_PASSWORD))
    sku = await conn.fetchrow("SELECT s.id, s.price, s.spec_label, p.id AS product_id, p.title FROM skus s"
                              " JOIN products p ON p.id = s.product_id WHERE s.code = $1", AFTERSALE_SKU)
    quantity, total = 2, 2 * sku["price"]
    address = {"receiver": "售后体验官", "phone": AFTERSALE_BUYER_PHONE, "region_code": "330106",
               "detail": "西湖区文三路 90 号"}
    po = await conn.fetchval(
        "INSERT INTO payment_orders (buyer_id, idempotency_key, request_hash, status, goods_total, total_discount,"
        " shipping_total, payable, pricing, expires_at, paid_at) VALUES ($1, 'demo-aftersale-order', 'demo', 'PAID',"
        " $2, 0, 0, $2, '{}', $3, $3) RETURNING id", buyer, total, now - timedelta(days=3))
    payment = await conn.fetchval(
        "INSERT INTO payments (payment_order_id, provider, channel, amount, status, auth_level, provider_txn_id,"
        " succeeded_at) VALUES ($1, 'sandbox', 'ALIPAY', $2, 'SUCCEEDED', 'NONE', 'demo-aftersale-txn', $3)"
        " RETURNING id", po, total, now - timedelta(days=3))
    await conn.execute("UPDATE payment_orders SET paid_by_payment_id = $2 WHERE id = $1", po, payment)
    order = await conn.fetchval(
        "INSERT INTO orders (payment_order_id, buyer_id, merchant_id, status, payment_status, logistics_status,"
        " goods_total, discount, shipping, payable, address, carrier, tracking_number, paid_at, shipped_at, received_at)"
        " VALUES ($1, $2, $3, 'RECEIVED', 'PAID', 'SIGNED', $4, 0, 0, $4, $5, 'SF', 'SF0000000003', $6, $7, $8)"
        " RETURNING id", po, buyer, LUMEN, total, address, now - timedelta(days=3), now - timedelta(days=2),
        now - timedelta(days=1))
    line = await conn.fetchval(
        "INSERT INTO order_lines (order_id, sku_id, product_id, title, spec_label, position, quantity, price,"
        " unit_price, goods_amount, paid_amount) VALUES ($1, $2, $3, $4, $5, 1, $6, $7, $7, $8, $8) RETURNING id",
        order, sku["id"], sku["product_id"], sku["title"], sku["spec_label"] or "", quantity, sku["price"], total)
    await conn.executemany(
        "INSERT INTO order_status_history (order_id, from_status, to_status, actor) VALUES ($1, $2, $3, 'system:demo')",
        [(order, None, "PENDING_PAYMENT"), (order, "PENDING_PAYMENT", "PAID"), (order, "PAID", "SHIPPED"),
         (order, "SHIPPED", "RECEIVED")])
    await aftersale.request(conn, get_settings(), buyer, order, AfterSaleKind.RETURN_REFUND,
                            [aftersale.LineClaim(line, 1)], AfterSaleReason.WRONG_SIZE, "尺码偏小，想退一件", [], now)


async def _seed_ledger_of_demo_orders(conn: asyncpg.Connection) -> None:
    """The demo orders above are written straight into the tables: their payments' capture and
    their split onto the merchants' pending are posted here (idempotent entry ids), so the
    ledger audit holds on the demo data too. A deposit that paid its payment order is recorded by
    its own entry (app/merchants/deposits.py), not captured."""
    payments = await conn.fetch(
        "SELECT p.id, p.amount, p.succeeded_at FROM payments p JOIN payment_orders po ON po.id = p.payment_order_id"
        " WHERE p.status = 'SUCCEEDED' AND NOT (po.kind = 'DEPOSIT' AND po.paid_by_payment_id = p.id)"
        " AND ('payment:' || p.id || ':capture') NOT IN (SELECT id FROM journal_entries)")
    for p in payments:
        await ledger.capture(conn, [(p["id"], p["amount"])], p["succeeded_at"] or datetime.now(UTC))
    orders = await conn.fetch("SELECT id, paid_at FROM orders WHERE paid_at IS NOT NULL"
                              " AND ('order:' || id || ':split') NOT IN (SELECT id FROM journal_entries)")
    for o in orders:
        await ledger.split(conn, [o["id"]], o["paid_at"])


SETTLEMENT_BUYER_PHONE = "13800000009"


async def _seed_settlement_demo(conn: asyncpg.Connection):
    """A demo buyer ("结算体验官", same password) with two Lumen orders completed ten days
    ago — one with a platform-funded coupon (a subsidy) and shipping — paid, split and then
    settled in a first run for yesterday, so
    `lumen-owner` finds a statement (settlementStatements, its lines and CSV; docs/settlement.md).
    Returns the day to settle the first time, None once written."""
    if await conn.fetchval("SELECT 1 FROM buyers WHERE phone = $1", SETTLEMENT_BUYER_PHONE):
        return None
    now = datetime.now(UTC)
    paid_at, completed_at = now - timedelta(days=14), now - timedelta(days=10)
    buyer = await conn.fetchval("INSERT INTO buyers (phone, password_hash, nickname) VALUES ($1, $2, '结算体验官')"
                                " RETURNING id", SETTLEMENT_BUYER_PHONE, await hash_password(DEMO_PASSWORD))
    goods = await conn.fetch(
        "SELECT DISTINCT ON (p.id) p.id AS product_id, p.title, s.id AS sku_id, s.spec_label, s.price"
        " FROM products p JOIN skus s ON s.product_id = p.id"
        " WHERE p.merchant_id = $1 AND p.status = 'LISTED' AND p.fulfillment_type <> 'VIRTUAL'"
        " ORDER BY p.id, s.id LIMIT 2", LUMEN)
    address = {"receiver": "结算体验官", "phone": SETTLEMENT_BUYER_PHONE, "region_code": "440305",
               "detail": "南山区科技园 8 号"}
    coupon = await conn.fetchval("SELECT id FROM promotions WHERE merchant_id IS NULL ORDER BY id LIMIT 1")
    for n, (g, quantity, platform_share, shipping) in enumerate(
            [(goods[0], 2, 1000, 800), (goods[1 % len(goods)], 1, 0, 0)], 1):
        gross = quantity * g["price"]
        share = min(platform_share, gross // 10) if coupon else 0
        payable = gross - share + shipping
        if payable == 0:
            continue
        po = await conn.fetchval(
            "INSERT INTO payment_orders (buyer_id, idempotency_key, request_hash, status, goods_total, total_discount,"
            " shipping_total, payable, pricing, expires_at, paid_at, paid_by_payment_id) VALUES ($1, $2, 'demo',"
            " 'PAID', $3, $4, $5, $6, '{}', $7, $7, NULL) RETURNING id",
            buyer, f"demo-settlement-{n}", gross, share, shipping, payable, paid_at)
        payment = await conn.fetchval(
            "INSERT INTO payments (payment_order_id, provider, channel, amount, status, auth_level, provider_txn_id,"
            " succeeded_at) VALUES ($1, 'sandbox', 'WECHAT', $2, 'SUCCEEDED', 'NONE', $3, $4) RETURNING id",
            po, payable, f"demo-settlement-txn-{n}", paid_at)
        await conn.execute("UPDATE payment_orders SET paid_by_payment_id = $2 WHERE id = $1", po, payment)
        order = await conn.fetchval(
            "INSERT INTO orders (payment_order_id, buyer_id, merchant_id, status, payment_status, logistics_status,"
            " review_status, goods_total, discount, shipping, payable, address, carrier, tracking_number, paid_at,"
            " shipped_at, received_at, completed_at) VALUES ($1, $2, $3, 'COMPLETED', 'PAID', 'SIGNED', 'DONE', $4,"
            " $5, $6, $7, $8, 'SF', $9, $10, $10, $11, $11) RETURNING id",
            po, buyer, LUMEN, gross, share, shipping, payable, address, f"SF00000004{n}", paid_at, completed_at)
        line = await conn.fetchval(
            "INSERT INTO order_lines (order_id, sku_id, product_id, title, spec_label, position, quantity, price,"
            " unit_price, goods_amount, paid_amount, commission_rate) VALUES ($1, $2, $3, $4, $5, 1, $6, $7, $7, $8,"
            " $9, 0.05) RETURNING id", order, g["sku_id"], g["product_id"], g["title"], g["spec_label"] or "",
            quantity, g["price"], gross, gross - share)
        if share:
            await conn.execute(
                "INSERT INTO order_line_shares (order_line_id, level, promotion_id, amount, funder, platform_amount,"
                " merchant_amount) VALUES ($1, 'PLATFORM', $2, $3, 'PLATFORM', $3, 0)", line, coupon, share)
        await conn.executemany(
            "INSERT INTO order_status_history (order_id, from_status, to_status, actor, at)"
            " VALUES ($1, $2, $3, 'system:demo', $4)",
            [(order, None, "PENDING_PAYMENT", paid_at), (order, "PENDING_PAYMENT", "PAID", paid_at),
             (order, "PAID", "SHIPPED", paid_at), (order, "SHIPPED", "RECEIVED", completed_at),
             (order, "RECEIVED", "COMPLETED", completed_at)])
        await ledger.capture(conn, [(payment, payable)], paid_at)
        await ledger.split(conn, [order], paid_at)
    return (now - timedelta(days=1)).date()
# (applicant phone, nickname, shop, owner login, how far it got)
ONBOARDING_DEMO = [
    ("13800000004", "入驻申请人", "Bloom 家居生活馆", "bloom-owner", "PENDING_REVIEW"),
    ("13800000005", "待缴保证金", "Cedar 户外装备", "cedar-owner", "APPROVED"),
    ("13800000006", "已开店", "Maple 文具馆", "maple-owner", "OPEN"),
]


async def _seed_onboarding_demo(conn: asyncpg.Connection) -> None:
    """Merchant onboarding (docs/merchants.md), through its own rules: an application waiting for
    the back office's review (sign in as admin: merchantApplications), an approved shop whose
    applicant still has to pay the deposit (startMerchantDepositPayment, then createPayment and
    the sandbox pay page), and a shop opened through onboarding with its deposit posted to the
    ledger (its owner signs in as maple-owner). Licence images are small generated JPEGs. Written once."""
    if await conn.fetchval("SELECT 1 FROM buyers WHERE phone = $1", ONBOARDING_DEMO[0][0]):
        return
    settings = get_settings()
    now = datetime.now(UTC)
    admin = Principal(kind="staff", id=await conn.fetchval("SELECT id FROM staff_accounts WHERE username = 'admin'"),
                      staff_kind="ADMIN")
    category = await conn.fetchval("SELECT id FROM backend_categories WHERE is_leaf ORDER BY id LIMIT 1")
    image = io.BytesIO()
    Image.new("RGB", (64, 48), (230, 230, 220)).save(image, "JPEG")
    for phone, nickname, shop, owner, reached in ONBOARDING_DEMO:
        buyer = await conn.fetchval("INSERT INTO buyers (phone, password_hash, nickname) VALUES ($1, $2, $3)"
                                    " RETURNING id", phone, await hash_password(DEMO_PASSWORD), nickname)
        key = new_key()
        await storage_for(settings).put(key, image.getvalue(), "image/jpeg")
        licence = await conn.fetchval(
            "INSERT INTO uploads (owner, purpose, content_type, size_bytes, width, height, sha256, storage_key)"
            " VALUES ($1, 'MERCHANT_LICENCE', 'image/jpeg', $2, 64, 48, md5($3), $3) RETURNING id",
            f"buyer:{buyer}", len(image.getvalue()), key)
        application = await onboarding.apply(conn, buyer, onboarding.ApplicationInput(
            shop_name=shop, company_name=f"{shop}有限公司", credit_code=f"91440300DEMO{buyer:06d}"[:18].upper(),
            legal_representative=nickname, contact_name=nickname, contact_phone=phone, category_ids=[category],
            licence_upload_ids=[licence], owner_username=owner, owner_password=DEMO_PASSWORD,
            company_address="深圳市南山区科技园", contact_email=f"{owner}@example.com"), now)
        if reached == "PENDING_REVIEW":
            continue
        merchant = await onboarding.approve(conn, admin, application, 200_000, settings, now)
        po = await onboarding.deposit_payment_order(conn, buyer, application, settings, now)
        if reached == "OPEN":     # paid as the payment callback pays it, days ago (outside the
            paid_at = now - timedelta(days=3)      # days reconciliation checks: the sandbox never saw it)
            payment = await conn.fetchval(
                "INSERT INTO payments (payment_order_id, provider, channel, amount, status, auth_level,"
                " provider_txn_id, succeeded_at) VALUES ($1, 'sandbox', 'WECHAT', $2, 'SUCCEEDED', 'SMS', $3, $4)"
                " RETURNING id", po["id"], po["payable"], f"demo-deposit-{merchant}", paid_at)
            await orders.mark_paid(conn, po["id"], paid_at, "system:demo", payment)
PAYOUTS_DEMO_KEY = "demo-payouts-opening-credit"


async def _seed_payouts_demo(conn: asyncpg.Connection) -> None:
    """Acme's account (docs/payouts.md): a ¥5,000.00 adjustment (补差) credited by the admin, a
    ¥1,200.00 withdrawal paid out (requested, approved, sent, PAID — through the services, so
    every step has its entry and history) and a ¥800.00 one waiting for review in the back
    office: available ¥3,000.00, reserved ¥800.00. And yesterday's reconciliation run with one
    difference to resolve (a statement row unknown to us). Written once."""
    if await conn.fetchval("SELECT 1 FROM merchant_adjustments WHERE client_key = $1", PAYOUTS_DEMO_KEY):
        return
    now = datetime.now(UTC)
    staff = {r["username"]: r for r in await conn.fetch(
        "SELECT id, username FROM staff_accounts WHERE username IN ('admin', 'acme-owner')")}
    admin = Principal(kind="staff", id=staff["admin"]["id"], staff_kind="ADMIN")
    owner = Principal(kind="staff", id=staff["acme-owner"]["id"], staff_kind="MERCHANT", merchant_id=ACME,
                      merchant_role="OWNER")
    await adjustments.adjust(conn, admin, ACME, 500_000, "开店扶持补贴 (demo)", PAYOUTS_DEMO_KEY, now - timedelta(days=3))
    paid = await withdrawals.request(conn, owner, 120_000, "demo-withdrawal-paid", now - timedelta(days=2))
    await withdrawals.approve(conn, admin, paid["id"], now - timedelta(days=2))
    await withdrawals.mark_sent(conn, paid["id"], "sbp_demo_paid", "system:payouts", now - timedelta(days=2))
    await withdrawals.finish(conn, paid["id"], True, None, "sbp_demo_paid", "channel:sandbox", now - timedelta(days=1))
    await withdrawals.request(conn, owner, 80_000, "demo-withdrawal-pending", now)
    day = (now - timedelta(days=1)).date()
    run = await conn.fetchval(
        "INSERT INTO reconciliation_runs (provider, day, status, their_rows, our_rows, matched, open_differences, runs,"
        " finished_at) VALUES ('sandbox', $1, 'DONE', 1, 0, 0, 1, 1, now()) ON CONFLICT (provider, day) DO NOTHING"
        " RETURNING id", day)
    if run is not None:
        await conn.execute(
            "INSERT INTO reconciliation_differences (run_id, item_kind, provider_ref, kind, their_amount)"
            " VALUES ($1, 'PAYMENT', 'sbx_demo_unknown', 'MISSING_OURS', 1990)", run)
