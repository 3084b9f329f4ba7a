"""The item cells of a ledger row: the catalogue item they name, or the item the row adds to the catalogue.

Which item a text means is the catalogue's rule (``catalogue.ItemNames``: code, name or alias); this module
reads the cells, reports a name several items share or a code and a name that disagree, and describes an
unknown item well enough (name, category, unit) to be added by ``create_item``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from importers.outcome import IssueLog, Source
from importers.values import (
    CellError,
    canonical_unit,
    is_blank,
    parse_amount,
    parse_choice,
    parse_code,
    parse_line,
    parse_unit,
)
from importers.workbook import SheetTable
from inventory.catalogue import ItemNames, ItemRef, item_key
from inventory.import_review import FUZZY_MATCH
from inventory.models import Item
from inventory.reference import Category
from inventory.validation import remember
from inventory.vocabulary import infer_category

if TYPE_CHECKING:
    from importers.rows import LedgerRow


@dataclass
class NewItem:
    """An item the catalogue lacks, as the first row naming it describes it: ``create_item``'s keywords."""

    fields: dict[str, object]
    source: Source
    review: str | None = None  # what to confirm (a category inferred from the name): the new-item review entry
    rows: list[LedgerRow] = field(default_factory=list)
    item: Item | None = None


class ItemCells:
    """Reads item cells against the catalogue; gathers the items to add, by name key."""

    def __init__(self, log: IssueLog, item_names: ItemNames, items: dict[int, Item]) -> None:
        self.log = log
        self.item_names = item_names
        self.items = items
        self.new_items: dict[str, NewItem] = {}
        self._found: dict[str, list[ItemRef]] = {}  # per distinct text: the catalogue stays the same while reading
        # (item code cell, item name cell) → the one item they name without a word to say (no warning, no error).
        self._known: dict[tuple[str, str], Item] = {}

    def known(self, code_cell: object, name_cell: object) -> Item | None:
        """The item of two text cells seen before that named it plainly; None: read them with ``item_for``."""
        if code_cell.__class__ is str and name_cell.__class__ is str:
            return self._known.get((code_cell, name_cell))
        return None

    def _candidates(self, text: str | None) -> list[ItemRef]:
        """The catalogue items ``text`` may name (code, name or alias; catalogue.ItemNames decides)."""
        if not text:
            return []
        found = self._found.get(text)
        if found is None:
            found = self._found[text] = self.item_names.candidates(text)
        return found

    def _one(self, found: list[ItemRef]) -> Item | None:
        return self.items.get(found[0].id) if len(found) == 1 else None

    def item_for(self, table: SheetTable, number: int, cell: Callable[[str], object]) -> tuple[Item | None, str | None]:
        """The catalogue item a row names by code, name or alias; or the key of an item to add."""
        code_cell, name_cell = cell("item_code"), cell("item_name")
        code, name = parse_code(code_cell), parse_line(name_cell)
        named = self._candidates(name)  # looked up once per cell: this runs for every row of a ledger
        by_code, by_name = self._one(self._candidates(code)), self._one(named)
        if by_name is None and len(named) > 1:  # a name several catalogue items share
            if by_code is None:
                self.log.cell_error(
                    table.name, number, table.columns.get("item_name"), name, ItemNames.ambiguity(name, named)
                )
                return None, None
            if any(ref.id == by_code.id for ref in named):
                by_name = by_code  # the code says which of them the name means: the two cells agree
        item = by_code or by_name
        if item is None and name and not named:
            item = self._guessed(table, number, name)
        if item is not None:
            if code and name and by_code is not by_name:
                said = f"the code {code} is {by_code.name}" if by_code else f"the code {code} is not in the catalogue"
                self.log.warn(
                    f"{said} but the name says {name!r}; {item.code} {item.name} was used",
                    sheet=table.name,
                    row=number,
                    column=table.columns["item_name"].header,
                    value=name,
                )
            elif (item is by_code or item is by_name) and code_cell.__class__ is str and name_cell.__class__ is str:
                remember(self._known, (code_cell, name_cell), item, code_cell, name_cell)
            return item, None
        return None, self._new_item(table, number, cell, code, name)

    def _guessed(self, table: SheetTable, number: int, name: str) -> Item | None:
        """The item a name not in the catalogue is taken for (a variant, a similar name): with a warning."""
        match, tied = self.item_names.best_match(name)
        column = table.columns["item_name"].header
        if match is None:
            if tied:
                listed = "、".join(f"{m.item.code} {m.item.name}" for m in tied)
                self.log.warn(
                    f"item name '{name}' is close to several catalogue items ({listed}): not matched",
                    sheet=table.name,
                    row=number,
                    column=column,
                    value=name,
                )
            return None
        self.log.warn(f"item name '{name}' {match.describe()}", sheet=table.name, row=number, column=column, value=name)
        self.log.review(FUZZY_MATCH, match.item.code, f"'{name}' taken for {match.item.name}", table.name, number)
        return self.items.get(match.item.id)

    def _new_item(
        self, table: SheetTable, number: int, cell: Callable[[str], object], code: str, name: str
    ) -> str | None:
        """The key of the item a row adds to the catalogue (None, reported, when it cannot)."""
        column = table.columns.get("item_code") if code else table.columns.get("item_name")
        if not code and not name:
            self.log.cell_error(
                table.name, number, table.columns.get("item_name") or column, None, "the item is missing"
            )
            return None
        category, unit = cell("category"), parse_unit(cell("unit")) or _unit_in_quantity(cell("quantity"))
        if not name or not unit:
            self.log.cell_error(
                table.name,
                number,
                column,
                code or name,
                f"unknown item {code or name!r}: use a catalogue code, name or alias, or give its name, "
                "category (物资类别) and unit (计量单位) to add it to the catalogue",
            )
            return None
        key = item_key(name)
        if key not in self.new_items:
            review = None
            if is_blank(category):  # no category given: the name's keywords say, else 其他; a person confirms
                inferred, keyword = infer_category(name)
                category_code = inferred.value
                review = (
                    f"'{name}' was not in the catalogue and was added; its category was inferred from "
                    f"'{keyword}' in the name as {inferred.label_zh}: please confirm"
                    if keyword
                    else f"'{name}' was not in the catalogue and was added; the name gives no category, "
                    "so it is filed under other for now: please confirm"
                )
            else:
                try:
                    category_code = parse_choice(category, Category)
                except CellError as error:
                    self.log.cell_error(table.name, number, table.columns.get("category"), category, str(error))
                    return None
            canonical = canonical_unit(unit)
            self.new_items[key] = NewItem(
                fields={
                    "code": code or "X-" + hashlib.sha256(key.encode()).hexdigest()[:8].upper(),
                    "name": name,
                    "category": category_code,
                    "unit": "个" if canonical == "pcs" else canonical,
                    "specification": parse_line(cell("specification")),
                },
                source=Source(table.name, number, column, code or name),
                review=review,
            )
        return key


def _unit_in_quantity(value: object) -> str:
    """The unit written inside a quantity cell ("8吨" → 吨), or ""."""
    try:
        return parse_amount(value).unit if not is_blank(value) else ""
    except CellError:
        return ""
