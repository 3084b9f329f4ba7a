"""Units of measure: spellings, the conversion families (mass, length, volume, counts), an item's own pack
factors, and unit variants — stock counted in a unit that converts to nothing, kept apart until a factor is set.

A quantity is only ever added to another in the same unit: what converts is converted (8 吨 → 8000 千克; 3 包 →
30 张 when the item says 1 包 = 10 张), and what does not becomes a **unit variant** of the item — an item of its
own (code ``<base>-U<hash>``, name ``<base name>（<unit>）``) that nearest and plans list in its own unit. When
someone sets the factor later (``set_pack_factor``), the variant's stock moves into the item by ledger
movements (an adjustment out of the variant line, a receipt into the item's line of the same warehouse and
batch), so the ledger tells what happened and nothing is edited in place.

Over 150 lines because the unit spellings are data.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from decimal import Decimal

from inventory.validation import fold, memoised

# Units: every spelling → the canonical unit (the catalogue's own units are the Chinese ones).
UNIT_ALIASES: dict[str, str] = {
    "t": "吨",
    "ton": "吨",
    "tons": "吨",
    "tonne": "吨",
    "tonnes": "吨",
    "公吨": "吨",
    "kg": "千克",
    "kgs": "千克",
    "公斤": "千克",
    "kilogram": "千克",
    "kilograms": "千克",
    "g": "克",
    "gram": "克",
    "grams": "克",
    "m": "米",
    "meter": "米",
    "meters": "米",
    "metre": "米",
    "metres": "米",
    "延米": "米",
    "km": "千米",
    "公里": "千米",
    "cm": "厘米",
    "mm": "毫米",
    "m3": "立方米",
    "m³": "立方米",
    "方": "立方米",
    "cubic meter": "立方米",
    "l": "升",
    "litre": "升",
    "liter": "升",
    "litres": "升",
    "liters": "升",
    "公升": "升",
    "ml": "毫升",
    "set": "套",
    "sets": "套",
    "bag": "袋",
    "bags": "袋",
    "sack": "袋",
    "sacks": "袋",
    "sheet": "张",
    "sheets": "张",
    "pad": "张",
    "pads": "张",
    "roll": "卷",
    "rolls": "卷",
    "barrel": "桶",
    "barrels": "桶",
    "drum": "桶",
    "drums": "桶",
    "box": "盒",
    "boxes": "盒",
    "kit": "盒",
    "kits": "盒",
    "pair": "副",
    "pairs": "副",
    "双": "副",
    "vehicle": "辆",
    "vehicles": "辆",
    "truck": "辆",
    "trucks": "辆",
    "boat": "艘",
    "boats": "艘",
    "bottle": "瓶",
    "bottles": "瓶",
    "台套": "台",
}
# A plain count ("pcs") goes with any counted unit; these are the spellings of it.
GENERIC_COUNT_UNITS: frozenset[str] = frozenset(
    {"pcs", "pc", "piece", "pieces", "ea", "each", "unit", "units", "nos", "number", "item", "items"}
)
# Measure words of counted things: a generic count converts to any of them one for one.
COUNTED_UNITS: frozenset[str] = frozenset("个件只台套张卷桶袋块支副盒辆架艘瓶箱把根条组顶具部片捆包")
# Measured units: (dimension, size in the dimension's base unit). Converting is base-to-base.
UNIT_SIZES: dict[str, tuple[str, Decimal]] = {
    "吨": ("mass", Decimal(1000)),
    "千克": ("mass", Decimal(1)),
    "克": ("mass", Decimal("0.001")),
    "斤": ("mass", Decimal("0.5")),
    "千米": ("length", Decimal(1000)),
    "米": ("length", Decimal(1)),
    "厘米": ("length", Decimal("0.01")),
    "毫米": ("length", Decimal("0.001")),
    "立方米": ("volume", Decimal(1)),
    "升": ("volume", Decimal("0.001")),
    "毫升": ("volume", Decimal("0.000001")),
}


@memoised
def canonical_unit(text: str) -> str:
    """The canonical spelling of a unit ("kg", "公斤" → 千克); unknown units come back folded."""
    key = fold(text).replace(" ", "").rstrip(".")
    if key in GENERIC_COUNT_UNITS:
        return "pcs"
    return UNIT_ALIASES.get(key, key)


def unit_factor(given: str, wanted: str) -> Decimal | None:
    """How many ``wanted`` units one ``given`` unit is, or None when they do not convert."""
    source, target = canonical_unit(given), canonical_unit(wanted)
    if source == target:
        return Decimal(1)
    if (source == "pcs" and target in COUNTED_UNITS) or (target == "pcs" and source in COUNTED_UNITS):
        return Decimal(1)
    if source in UNIT_SIZES and target in UNIT_SIZES:
        (source_dimension, source_size), (target_dimension, target_size) = UNIT_SIZES[source], UNIT_SIZES[target]
        if source_dimension == target_dimension:
            return source_size / target_size
    return None


def in_item_unit(quantity: Decimal, factor: Decimal) -> Decimal:
    """``quantity`` counted in a unit whose ``factor`` (``item_unit_factor``) is known, in the item's catalogue
    unit: exact (more than three places is refused where the count is checked, or rounded by a variant's merge)."""
    return quantity * factor


def is_known_unit(text: str) -> bool:
    unit = canonical_unit(text)
    return unit == "pcs" or unit in COUNTED_UNITS or unit in UNIT_SIZES


def item_unit_factor(given: str, item_unit: str, pack_factors: Iterable[tuple[str, Decimal]]) -> Decimal | None:
    """How many of an item's catalogue units one ``given`` unit is: by family, else by the item's pack factors.

    ``pack_factors`` are (unit, factor) pairs, factor in the catalogue unit; a pack unit also converts through
    its family (1 袋 = 25 千克 on an item counted in 吨: 袋 → 0.025 吨 needs the factor in 吨, as stored).
    """
    direct = unit_factor(given, item_unit)
    if direct is not None:
        return direct
    source = canonical_unit(given)
    for unit, factor in pack_factors:
        if canonical_unit(unit) == source:
            return factor
    return None


def variant_code(base_code: str, unit: str) -> str:
    """The code of the unit variant of ``base_code`` counted in ``unit``: ASCII, stable, at most 32 characters."""
    digest = hashlib.sha256(canonical_unit(unit).encode()).hexdigest()[:6].upper()
    return f"{base_code[:24]}-U{digest}"


def variant_name(base_name: str, unit: str) -> str:
    return f"{base_name}（{unit}）"
