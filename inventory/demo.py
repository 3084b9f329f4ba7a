"""A realistic, reproducible demo dataset: warehouses over the real counties, stock by batch.

Written with bulk statements (not one ORM object per row) so the national scale loads in
seconds; every stock line still gets its opening receipt, so the ledger sums to the quantity.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import func, insert, literal, select
from sqlalchemy.orm import Session

from inventory.clock import business_today
from inventory.errors import Conflict
from inventory.models import Item, Movement, Region, SiteFlag, StockLine, Warehouse
from inventory.reference import MovementKind, RegionLevel, ReserveType, WarehouseLevel, WarehouseStatus


@dataclass(frozen=True)
class Scale:
    warehouses: int
    stock_lines: int


SCALES = {
    "small": Scale(warehouses=80, stock_lines=1_300),
    "national": Scale(warehouses=7_600, stock_lines=126_000),
    "10x": Scale(warehouses=76_000, stock_lines=1_260_000),
}
DEMO_ACTOR = "demo-seed"
DEMO_FLAG = "demo"  # SiteFlag set by seed_demo: the database holds invented warehouses and contacts
# What every export's title and the page's banner say about such a database.
DEMO_NOTE = {
    "zh": "演示数据：仓库、联系人和电话均为虚构，请勿拨打",
    "en": "DEMO DATA: invented warehouses, contacts and phone numbers; do not call them",
}
RESERVE_MIX = [
    (ReserveType.GOVERNMENT, 0.35),
    (ReserveType.ENTERPRISE, 0.40),
    (ReserveType.THIRD_PARTY, 0.10),
    (ReserveType.PRODUCTION, 0.15),
]
# Typical holdings per unit: (low, high) for a plausible quantity in one batch.
QUANTITY_RANGE = {
    "吨": (0.5, 60),
    "米": (100, 5000),
    "张": (100, 6000),
    "袋": (50, 3000),
    "个": (2, 200),
    "块": (10, 400),
    "套": (2, 150),
    "支": (10, 500),
    "副": (20, 800),
    "双": (10, 300),
    "件": (10, 300),
    "盒": (5, 100),
    "台": (1, 20),
    "辆": (1, 3),
    "架": (1, 4),
    "艘": (1, 4),
}
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程"
    "苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国志红文斌宇辉鹏飞海波林峰"
FIRMS = ["华源", "恒通", "鑫达", "中化", "永盛", "天成", "宏远", "润丰", "金桥", "瑞华", "东方", "长江", "博远", "安泰"]
STREETS = ["工业园区", "经济开发区", "城关镇", "滨江路", "环城北路"]
TRADES = ["化工", "石化", "矿业", "制药", "新材料", "能源", "冶炼", "印染", "电镀", "港务"]


def seed_demo(
    session: Session,
    scale: str,
    *,
    seed: int = 2026,
    force: bool = False,
    today: dt.date | None = None,
    progress: Callable[[str], None] = lambda step: None,
):
    """Create the demo warehouses and stock. Refuses a database that already has warehouses unless ``force``.

    ``progress`` hears one line per step (the national scale takes a while: say what is happening).
    """
    if scale not in SCALES:
        raise ValueError(f"unknown scale {scale!r}; choose from {', '.join(SCALES)}")
    size = SCALES[scale]
    existing = session.scalar(select(func.count()).select_from(Warehouse)) or 0
    if existing and not force:
        raise Conflict(
            f"the database already holds {existing} warehouses; add --force to seed-demo to add the demo anyway"
        )
    items = list(session.scalars(select(Item).order_by(Item.code)))
    if not items:
        raise Conflict("the catalogue is empty: run init-db first")
    counties = _county_sites(session)
    rng = random.Random(seed)
    today = today or business_today()
    now = dt.datetime.now(dt.UTC)

    # About one county in six has no reserves at all, as in the real network.
    served = [c for c in counties if rng.random() > 0.17] or counties
    last_warehouse = session.scalar(select(func.max(Warehouse.id))) or 0
    warehouses = [_warehouse_row(rng, served, existing + n + 1, now) for n in range(size.warehouses)]
    session.execute(insert(Warehouse), warehouses)
    progress(f"{size.warehouses:,} warehouses")
    reserve_by_id = dict(
        session.execute(
            select(Warehouse.id, Warehouse.reserve_type).where(Warehouse.id > last_warehouse).order_by(Warehouse.id)
        ).all()
    )

    last_line = session.scalar(select(func.max(StockLine.id))) or 0
    per_warehouse, extra = divmod(size.stock_lines, size.warehouses)
    batch_rows: list[dict] = []
    written = 0
    for n, (warehouse_id, reserve) in enumerate(reserve_by_id.items()):
        count = per_warehouse + (1 if n < extra else 0)
        batch_rows.extend(_stock_rows(rng, items, warehouse_id, reserve, count, today, now))
        if len(batch_rows) >= 20_000:
            session.execute(insert(StockLine), batch_rows)
            written += len(batch_rows)
            batch_rows = []
            progress(f"{written:,} of {size.stock_lines:,} stock lines")
    if batch_rows:
        session.execute(insert(StockLine), batch_rows)
    progress(f"{size.stock_lines:,} of {size.stock_lines:,} stock lines; writing the opening receipts")

    # Opening balances: one receipt per new line, so the ledger sums to every quantity.
    session.execute(
        insert(Movement).from_select(
            ["stock_line_id", "kind", "delta", "quantity_after", "actor", "reason", "reference", "occurred_at"],
            select(
                StockLine.id,
                literal(MovementKind.RECEIPT.value),
                StockLine.quantity,
                StockLine.quantity,
                literal(DEMO_ACTOR),
                literal("演示数据期初结存"),  # shown in the page's ledger: in the users' language
                literal("DEMO"),
                StockLine.created_at,
            ).where(StockLine.id > last_line),
        )
    )
    mark_demo(session, scale)
    session.flush()
    return {"warehouses": size.warehouses, "stock_lines": size.stock_lines, "counties_served": len(served)}


def mark_demo(session: Session, scale: str) -> None:
    """Record that this database now holds demo data (it stays a demo database: real rows may sit beside it)."""
    session.merge(SiteFlag(name=DEMO_FLAG, value=scale, set_at=dt.datetime.now(dt.UTC)))


def is_demo(session: Session) -> bool:
    return session.get(SiteFlag, DEMO_FLAG) is not None


def demo_note(session: Session, lang: str) -> str:
    """The line an export's title carries in a demo database ("" in a real one)."""
    return DEMO_NOTE["zh" if lang == "zh" else "en"] if is_demo(session) else ""


def _county_sites(session: Session) -> list[tuple[str, str, str, str, float, float]]:
    """(county, city, province, county name, lat, lon) for every place a warehouse can sit."""
    city = Region.__table__.alias("city")
    rows = session.execute(
        select(Region.code, city.c.code, city.c.parent_code, Region.name, Region.latitude, Region.longitude)
        .join(city, city.c.code == Region.parent_code)
        .where(Region.level == RegionLevel.COUNTY)
        .order_by(Region.code)
    ).all()
    if not rows:
        raise Conflict("no regions loaded: run init-db first")
    return [tuple(row) for row in rows]


def _warehouse_row(rng: random.Random, counties: list, number: int, now: dt.datetime) -> dict:
    county, city, province, county_name, lat, lon = rng.choice(counties)
    reserve = rng.choices([r for r, _ in RESERVE_MIX], weights=[w for _, w in RESERVE_MIX])[0]
    firm = rng.choice(FIRMS)
    if reserve is ReserveType.GOVERNMENT:
        level = rng.choices(
            [WarehouseLevel.COUNTY, WarehouseLevel.MUNICIPAL, WarehouseLevel.PROVINCIAL, WarehouseLevel.NATIONAL],
            weights=[70, 22, 7, 1],
        )[0]
        name = f"{county_name}{level.label_zh}环境应急物资储备库"
        organisation = f"{county_name}生态环境局"
    elif reserve is ReserveType.ENTERPRISE:
        level = WarehouseLevel.COUNTY
        organisation = f"{county_name}{firm}{rng.choice(TRADES)}有限公司"
        name = f"{organisation}应急物资库"
    elif reserve is ReserveType.THIRD_PARTY:
        level = rng.choice([WarehouseLevel.COUNTY, WarehouseLevel.MUNICIPAL])
        organisation = f"{firm}环保应急服务有限公司"
        name = f"{organisation}{county_name}储备点"
    else:
        level = WarehouseLevel.COUNTY
        organisation = f"{county_name}{firm}{rng.choice(TRADES)}股份有限公司"
        name = f"{organisation}生产能力储备"
    return {
        "code": f"WH{number:06d}",
        "name": name[:200],
        "reserve_type": reserve,
        "organisation": organisation,
        "county_code": county,
        "city_code": city,
        "province_code": province,
        "address": f"{county_name}{rng.choice(STREETS)}{rng.randint(1, 999)}号",
        "latitude": round(min(max(lat + rng.uniform(-0.08, 0.08), -90), 90), 6),
        "longitude": round(min(max(lon + rng.uniform(-0.08, 0.08), -180), 180), 6),
        "contact_person": rng.choice(SURNAMES) + "".join(rng.choices(GIVEN, k=rng.choice([1, 2]))),
        "contact_phone": f"1{rng.choice('3456789')}{rng.randint(0, 999_999_999):09d}",
        "level": level,
        "status": WarehouseStatus.ACTIVE if rng.random() > 0.02 else WarehouseStatus.INACTIVE,
        "notes": "",
        "created_at": now,
        "updated_at": now,
    }


def _stock_rows(
    rng: random.Random,
    items: list[Item],
    warehouse_id: int,
    reserve: ReserveType,
    count: int,
    today: dt.date,
    now: dt.datetime,
) -> list[dict]:
    # Up to three batches per item, drawn without repetition.
    slots = rng.sample(range(len(items) * 3), k=min(count, len(items) * 3))
    rows = []
    for slot in slots:
        item = items[slot // 3]
        low, high = QUANTITY_RANGE.get(item.unit, (1, 100))
        if reserve is ReserveType.PRODUCTION:
            low, high = low * 2, high * 3  # a producer can supply more than a store holds
        integral = item.unit not in {"吨"}
        amount = rng.uniform(low, high)
        quantity = Decimal(round(amount)) if integral else Decimal(str(round(amount, 3)))
        quantity = max(quantity, Decimal(1) if integral else Decimal("0.5"))
        production = expiry = None
        if item.shelf_life_days:
            production = today - dt.timedelta(days=rng.randint(0, int(item.shelf_life_days * 1.1)))
            expiry = production + dt.timedelta(days=item.shelf_life_days)
        batch = f"{production:%Y%m}-{slot % 3 + 1}" if production else ("" if slot % 3 == 0 else f"B{slot % 3}")
        rows.append(
            {
                "warehouse_id": warehouse_id,
                "item_id": item.id,
                "batch": batch,
                "quantity": quantity,
                "production_date": production,
                "expiry_date": expiry,
                "created_at": now,
                "updated_at": now,
            }
        )
    return rows
