"""The catalogue of materials: items, their categories and aliases."""

from __future__ import annotations

import csv
import difflib
import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session, lazyload

from inventory.access import SYSTEM_USERNAME, Actor, require_catalogue_edit
from inventory.audit import record_audit, snapshot
from inventory.db import RowLock, locked, unless_taken_meanwhile, worker_cache
from inventory.errors import Conflict, NotFound, ValidationFailed, required
from inventory.models import CallUpNeed, Item, ItemAlias, ItemUnit, ItemVariant, ReserveQuota, StockLine, UnitPrice
from inventory.reference import Category
from inventory.units import canonical_unit
from inventory.validation import check_code, check_text, fold, text_limit

CATALOGUE_CSV = Path(__file__).parent / "data" / "catalogue.csv"
# Spellings people write for a catalogue name (活性碳 → 活性炭): data, extended by editing the file.
ITEM_VARIANTS_CSV = Path(__file__).parent / "data" / "item_variants.csv"
# How alike (difflib ratio of the folded texts) a name must be to a catalogue name to be taken for it.
SIMILARITY_THRESHOLD = 0.8
# Two candidates closer than this are a tie: the text is ambiguous, not matched.
SIMILARITY_MARGIN = 0.05
MAX_CACHED_GUESSES = 10_000
MAX_ALIASES = 50
ITEM_FIELDS = {"name", "category", "specification", "unit", "shelf_life_days", "aliases"}


def get_item(
    session: Session, code: str, *, field: str = "item_code", aliases: bool = True, lock: RowLock = ""
) -> Item:
    """The item with this code; ``aliases=False`` loads its aliases only if read (a write that needs none);
    ``lock``: its row locked to the commit, for a change (see ``db.locked``)."""
    find = locked(select(Item).where(Item.code == code), Item, lock)
    item = session.scalar(find if aliases else find.options(lazyload(Item.aliases)))
    if item is None:
        raise NotFound(f"no item with code {code!r}", field=field)
    return item


@dataclass(frozen=True)
class ItemRef:
    """An item as plain values: what searches and reports carry instead of an ORM object."""

    id: int
    code: str
    name: str
    unit: str
    category: Category


def item_key(text: str) -> str:
    """How an item's code, name or alias is compared: NFKC, case folded, no white space.

    So ``ＰＤ－００１``, ``pd-001`` and ``PD-001`` are one code, and ``活性 炭`` is ``活性炭`` (``fold``, then no
    white space).
    """
    return "".join(fold(text).split())


EXACT, ALIAS, SIMILAR, PINYIN = "exact", "alias", "similar", "pinyin"
CONTAINS = "contains"  # a suggestion only (suggest_items): the text is part of a code, name or alias


@dataclass(frozen=True)
class ItemMatch:
    """An item a text was taken for: how (exact, alias, similar, pinyin), how sure (0..1), through which name.

    ``exact`` is a code, name or catalogue alias; ``alias`` a variant spelling of ``item_variants.csv``;
    ``similar`` a name alike above ``SIMILARITY_THRESHOLD``; ``pinyin`` the initials or the full pinyin
    of a name (``hxt`` → 活性炭). Anything but exact is a guess the importer reports as a warning.
    """

    item: ItemRef
    how: str
    score: float
    via: str  # the catalogue code, name or alias the text was matched to

    @property
    def fuzzy(self) -> bool:
        return self.how != EXACT

    def describe(self) -> str:
        """What the importer says of a fuzzy match, in English (the API's message catalog has the Chinese)."""
        how = {ALIAS: "a common variant spelling", SIMILAR: "a similar name", PINYIN: "pinyin"}.get(self.how, "name")
        return f"matched to {self.item.code} {self.item.name} by {how} (similarity {self.score:.2f}, via '{self.via}')"


@functools.cache
def item_variants(path: Path = ITEM_VARIANTS_CSV) -> tuple[tuple[str, str], ...]:
    """(written, meant) pairs of ``item_variants.csv``, folded, longest written text first."""
    with path.open(encoding="utf-8", newline="") as handle:
        pairs = {(item_key(row["written"]), item_key(row["meant"])) for row in csv.DictReader(handle)}
    return tuple(sorted((pair for pair in pairs if all(pair)), key=lambda pair: (-len(pair[0]), pair)))


_PINYIN_TEXT = re.compile(r"^[a-z]{2,40}$")


def pinyin_keys(text: str) -> tuple[str, str]:
    """The initials and the full pinyin of a name (活性炭 → "hxt", "huoxingtan"); other characters kept.

    pypinyin is imported on first use: its phrase dictionary takes a second or two to load, which every
    worker would otherwise pay at start, though only a Latin-letter query ever needs it.
    """
    from pypinyin import Style, lazy_pinyin

    initials = "".join(lazy_pinyin(text, style=Style.FIRST_LETTER, errors="default"))
    full = "".join(lazy_pinyin(text, errors="default"))
    return item_key(initials), item_key(full)


class ItemNames:
    """Every way the catalogue names an item (code, name, alias): the one home of item matching.

    A code names its item before any name or alias does: the exact code first, then the code
    folded (width, case, spaces) when exactly one item's code folds to it. A folded code or a name
    or alias shared by several items is ambiguous and refused with the candidates, never settled
    by chance.
    """

    def __init__(
        self,
        version: int,
        items: list[ItemRef],
        aliases: list[tuple[int, str]],
        variants: Sequence[tuple[int, int]] = (),
    ) -> None:
        self.version = version
        self.by_id = {item.id: item for item in items}
        self._variants: dict[int, tuple[ItemRef, ...]] = {}
        for base_item_id, variant_id in sorted(variants, key=lambda pair: (pair[0], self.by_id[pair[1]].code)):
            self._variants[base_item_id] = (*self._variants.get(base_item_id, ()), self.by_id[variant_id])
        self.by_exact_code = {item.code: item for item in items}
        self.by_code: dict[str, list[ItemRef]] = {}
        for item in items:
            self.by_code.setdefault(item_key(item.code), []).append(item)
        self.by_name: dict[str, list[ItemRef]] = {}
        self._guesses: dict[str, tuple[ItemMatch, ...]] = {}  # folded text → guesses, per catalogue version
        self._pinyin_keys: dict[str, tuple[str, str]] = {}
        named = [(item.id, item.name) for item in items] + aliases
        for item_id, text in sorted(named):
            candidates = self.by_name.setdefault(item_key(text), [])
            if self.by_id[item_id] not in candidates:
                candidates.append(self.by_id[item_id])

    @classmethod
    def load(cls, session: Session, version: int) -> ItemNames:
        items = [ItemRef(*row) for row in session.execute(select(*ITEM_REF_COLUMNS).order_by(Item.code))]
        aliases = [(row[0], row[1]) for row in session.execute(select(ItemAlias.item_id, ItemAlias.alias))]
        variants = [
            (row[0], row[1])
            for row in session.execute(
                select(ItemVariant.base_item_id, ItemVariant.item_id).where(ItemVariant.merged_at.is_(None))
            )
        ]
        return cls(version, items, aliases, variants)

    def variants_of(self, item_id: int) -> tuple[ItemRef, ...]:
        """The item's unmerged unit variants (``inventory/unit_variants.py``), by code."""
        return self._variants.get(item_id, ())

    def candidates(self, text: str) -> list[ItemRef]:
        """The items ``text`` may name: one by its exact code, else by folded code, else by name or alias."""
        exact = self.by_exact_code.get((text or "").strip())
        if exact is not None:
            return [exact]
        key = item_key(text)
        return list(self.by_code.get(key) or self.by_name.get(key, ()))

    def resolve(self, text: str, field: str = "item") -> ItemRef:
        """The one item ``text`` names, or means by a known variant spelling (活性碳: 活性炭); a 404 if none
        does, a 422 listing the candidates if several do."""
        found = self.candidates(text) or self._spelled_as(item_key(text))
        if not found:
            raise NotFound(f"no item with code, name or alias {text!r}", field=field)
        if len(found) > 1:
            raise ValidationFailed(self.ambiguity(text, found), field=field)
        return found[0]

    @staticmethod
    def ambiguity(text: str, found: list[ItemRef]) -> str:
        """What to say of a text several items answer to (the API and the importer say the same)."""
        listed = ", ".join(f"{item.code} {item.name}" for item in found)
        return f"{text!r} names several items ({listed}): give the item code"

    # --- guesses: variants, similar names, pinyin ------------------------------------------------

    def matches(self, text: str, limit: int = 5) -> list[ItemMatch]:
        """The items ``text`` may mean, best first: the one matching function of imports and suggestions.

        Exact candidates (code, name, catalogue alias) come alone with score 1. Otherwise the guesses: a
        variant spelling (``item_variants.csv``), pinyin (initials or full, for Latin letters), then
        names alike above ``SIMILARITY_THRESHOLD``. One item appears once, with its best guess.
        """
        exact = self.candidates(text)
        if exact:
            return [ItemMatch(item, EXACT, 1.0, item.name) for item in exact[:limit]]
        key = item_key(text)
        if not key:
            return []
        cached = self._guesses.get(key)
        if cached is None:
            if len(self._guesses) >= MAX_CACHED_GUESSES:  # suggestions take any text: keep the copy bounded
                self._guesses.clear()
            cached = self._guesses[key] = self._guess(key)
        return list(cached[:limit])

    def best_match(self, text: str) -> tuple[ItemMatch | None, list[ItemMatch]]:
        """The one item ``text`` is taken for, or None and the tied candidates (none when nothing is alike)."""
        found = self.matches(text)
        if not found:
            return None, []
        if found[0].how == EXACT:
            return (found[0], []) if len(found) == 1 else (None, found)
        tied = [match for match in found if found[0].score - match.score < SIMILARITY_MARGIN]
        return (found[0], []) if len(tied) == 1 else (None, tied)

    def _guess(self, key: str) -> tuple[ItemMatch, ...]:
        best: dict[int, ItemMatch] = {}

        def offer(match: ItemMatch) -> None:
            known = best.get(match.item.id)
            if known is None or match.score > known.score:
                best[match.item.id] = match

        for item in self._spelled_as(key):
            offer(ItemMatch(item, ALIAS, 1.0, item.name))
        if _PINYIN_TEXT.match(key):
            for name_key, items in self.by_name.items():
                initials, full = self._pinyin(name_key)
                if key in (initials, full) and initials != name_key:  # a Latin name is no pinyin
                    for item in items:
                        offer(ItemMatch(item, PINYIN, 0.9 if key == initials else 0.95, name_key))
        if not best:
            matcher = difflib.SequenceMatcher(autojunk=False)
            matcher.set_seq2(key)
            for name_key, items in self.by_name.items():
                matcher.set_seq1(name_key)
                if matcher.real_quick_ratio() < SIMILARITY_THRESHOLD or matcher.quick_ratio() < SIMILARITY_THRESHOLD:
                    continue
                score = round(matcher.ratio(), 3)
                if score >= SIMILARITY_THRESHOLD:
                    for item in items:
                        offer(ItemMatch(item, SIMILAR, score, name_key))
        return tuple(sorted(best.values(), key=lambda match: (-match.score, match.item.code)))

    def _spelled_as(self, key: str) -> list[ItemRef]:
        """The items whose name ``key`` writes with a known variant spelling (``item_variants.csv``), by code."""
        found: dict[int, ItemRef] = {}
        for written, meant in item_variants():
            if written in key:
                found.update((item.id, item) for item in self.by_name.get(key.replace(written, meant), ()))
        return sorted(found.values(), key=lambda item: item.code)

    def _pinyin(self, name_key: str) -> tuple[str, str]:
        keys = self._pinyin_keys.get(name_key)
        if keys is None:
            keys = self._pinyin_keys[name_key] = pinyin_keys(name_key)
        return keys


ITEM_REF_COLUMNS = (Item.id, Item.code, Item.name, Item.unit, Item.category)


def item_names(session: Session) -> ItemNames:
    """This worker's item names and unit variants, reloaded when an item, alias or variant changed."""
    return worker_cache(session, ("item", "item_alias", "item_variant"), ItemNames.load)


def resolve_item(session: Session, text: str, field: str = "item") -> ItemRef:
    """The item a person means by a code, name or alias (as typed), or a 404/422 naming ``field``."""
    return item_names(session).resolve(text, field)


def match_items(session: Session, text: str, limit: int = 5) -> list[ItemMatch]:
    """What ``text`` may mean in the catalogue, best first (``ItemNames.matches``): for suggestions."""
    return item_names(session).matches(text, limit)


def find_item(session: Session, text: str, field: str = "item") -> Item:
    """``resolve_item``, as the ORM object (for services that change or relate it)."""
    return session.get(Item, resolve_item(session, text, field).id)


def list_items(session: Session, *, category: Category | None = None, q: str | None = None) -> Select:
    """A select of items filtered by category and by a substring of code, name or alias."""
    stmt = select(Item).order_by(Item.code)
    if category is not None:
        stmt = stmt.where(Item.category == category)
    if q:
        alias_match = select(ItemAlias.item_id).where(ItemAlias.alias.icontains(q, autoescape=True))
        stmt = stmt.where(
            or_(
                Item.code.icontains(q, autoescape=True),
                Item.name.icontains(q, autoescape=True),
                Item.id.in_(alias_match),
            )
        )
    return stmt


def _apply_item_fields(session: Session, item: Item, fields: dict) -> None:
    unknown = set(fields) - ITEM_FIELDS
    if unknown:
        raise ValidationFailed(f"unknown field {sorted(unknown)[0]}", field=sorted(unknown)[0])
    if "name" in fields:
        item.name = check_text(fields["name"], "name", max_length=text_limit(Item.name), required=True)
    if "category" in fields:
        try:
            item.category = Category(fields["category"])
        except ValueError as exc:
            raise ValidationFailed(f"unknown category {fields['category']!r}", field="category") from exc
    if "specification" in fields:
        item.specification = check_text(
            fields["specification"], "specification", max_length=text_limit(Item.specification)
        )
    if "unit" in fields:
        unit = check_text(fields["unit"], "unit", max_length=text_limit(Item.unit), required=True)
        changes = canonical_unit(unit) != canonical_unit(item.unit)  # 吨 → t is the same unit respelled
        if changes and item.id is not None:
            # FOR UPDATE, not the edit's NO KEY UPDATE: a stock line, quota, need, price or pack factor being added
            # for the item holds its row FOR KEY SHARE (the foreign key's check) to its commit, so the change of
            # unit waits for it and then counts it, or the addition waits for the change.
            session.execute(select(Item.id).where(Item.id == item.id).with_for_update())
        if changes and item.id is not None and _counted_in_its_unit(session, item):
            # Every quantity of the item (its stock, ledger, call-ups, quotas, prices, pack factors) is counted in
            # its unit: renaming the unit would re-read them all (500 米 of boom as 500 吨), rewriting history.
            raise Conflict(
                f"item {item.code} has quantities counted in {item.unit} (stock, quotas, call-ups, prices or pack "
                "factors); its unit cannot change",
                field="unit",
            )
        item.unit = unit
    if "shelf_life_days" in fields:
        days = fields["shelf_life_days"]
        if days is not None and (not isinstance(days, int) or days <= 0):
            raise ValidationFailed("shelf life is a positive number of days", field="shelf_life_days")
        item.shelf_life_days = days
    if "aliases" in fields:
        _set_aliases(session, item, fields["aliases"] or [])


def _set_aliases(session: Session, item: Item, aliases: list[str]) -> None:
    if len(aliases) > MAX_ALIASES:
        raise ValidationFailed(f"at most {MAX_ALIASES} aliases", field="aliases")
    wanted: list[str] = []
    for alias in aliases:
        alias = check_text(alias, "aliases", max_length=text_limit(ItemAlias.alias), required=True)
        if alias not in wanted and alias != item.name:
            wanted.append(alias)
    taken = session.scalars(
        select(ItemAlias).where(ItemAlias.alias.in_(wanted), ItemAlias.item_id != item.id)
        if item.id is not None
        else select(ItemAlias).where(ItemAlias.alias.in_(wanted))
    ).first()
    if taken is not None:
        raise Conflict(f"alias {taken.alias!r} already names item {taken.item.code}", field="aliases")
    current = {a.alias: a for a in item.aliases}
    item.aliases = [current.get(alias) or ItemAlias(alias=alias) for alias in wanted]


def _item_state(item: Item) -> dict:
    return {**snapshot(item), "aliases": [a.alias for a in item.aliases]}


def _code_in_use(session: Session, code: str) -> Conflict | None:
    if session.scalar(select(Item.id).where(Item.code == code)) is None:
        return None
    return Conflict(f"item code {code!r} is already in use", field="code")


def create_item(session: Session, actor: Actor, *, code: str, **fields: object) -> Item:
    require_catalogue_edit(actor)
    code = check_code(code)
    for name in ("name", "category", "unit"):
        if fields.get(name) in (None, ""):
            raise required(name)
    taken = _code_in_use(session, code)
    if taken is not None:
        raise taken
    item = Item(code=code, specification="")
    _apply_item_fields(session, item, fields)
    with unless_taken_meanwhile(session, lambda: _code_in_use(session, code)):
        session.add(item)
        session.flush()
    record_audit(session, actor, "item.create", object_type="item", object_key=code, after=_item_state(item))
    return item


def update_item(session: Session, actor: Actor, code: str, **fields: object) -> Item:
    require_catalogue_edit(actor)
    item = get_item(session, code, field="code", lock="edit")
    before = _item_state(item)
    _apply_item_fields(session, item, fields)
    session.flush()
    record_audit(
        session, actor, "item.update", object_type="item", object_key=code, before=before, after=_item_state(item)
    )
    return item


def _has_stock_lines(session: Session, item: Item) -> bool:
    """Whether the item has ever been stocked (a stock line, and so a ledger, refers to it)."""
    return session.scalar(select(StockLine.id).where(StockLine.item_id == item.id).limit(1)) is not None


def _counted_in_its_unit(session: Session, item: Item) -> bool:
    """Whether any quantity is counted in the item's unit: stock (and so a ledger), or, stock or not, a quota, a
    call-up's need, a unit price or a pack factor (a quota of 100 吨 read as 100 千克 after a change of unit)."""
    return bool(session.scalar(select(or_(*(select(c).where(c == item.id).exists() for c in _COUNTED_IN_ITEM_UNIT)))))


_COUNTED_IN_ITEM_UNIT = (
    StockLine.item_id,
    ReserveQuota.item_id,
    CallUpNeed.item_id,
    UnitPrice.item_id,
    ItemUnit.item_id,
)


def delete_item(session: Session, actor: Actor, code: str) -> None:
    """Only an item that has never been stocked can go: the ledger refers to the rest."""
    require_catalogue_edit(actor, deleting=True)
    item = get_item(session, code, field="code", lock="delete")
    if _has_stock_lines(session, item):
        raise Conflict(f"item {code} has stock lines; it cannot be deleted", field="code")
    # Its unit variants name it as their base item (the review found the delete then failing on their NOT NULL
    # base_item_id, answered as a generic conflict).
    if session.scalar(select(ItemVariant.item_id).where(ItemVariant.base_item_id == item.id).limit(1)) is not None:
        raise Conflict(f"item {code} has unit variants; it cannot be deleted", field="code")
    record_audit(session, actor, "item.delete", object_type="item", object_key=code, before=_item_state(item))
    session.delete(item)
    session.flush()


def seed_catalogue(session: Session, path: Path = CATALOGUE_CSV) -> int:
    """Add the shipped catalogue items that are missing (by code). Returns how many were added."""
    existing = set(session.scalars(select(Item.code)))
    added = 0
    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            if row["code"] in existing:
                continue
            create_item(
                session,
                SYSTEM_USERNAME,
                code=row["code"],
                name=row["name"],
                category=row["category"],
                specification=row["specification"],
                unit=row["unit"],
                shelf_life_days=int(row["shelf_life_days"]) if row["shelf_life_days"] else None,
                aliases=[a for a in row["aliases"].split("|") if a],
            )
            added += 1
    return added


def suggest_items(session: Session, text: str, limit: int = 10) -> list[ItemMatch]:
    """What to offer someone typing ``text`` in an item field: the names that contain it (as listed by
    ``list_items``), then the guesses of ``ItemNames.matches`` (variant spellings, pinyin, similar
    names) for the items not already offered. A composition of the two, not a third matcher."""
    if not (text or "").strip():
        return []
    names = item_names(session)
    matched = names.matches(text, limit=limit)
    if matched and matched[0].how == EXACT:
        return matched
    containing = session.scalars(list_items(session, q=text.strip()).with_only_columns(Item.id).limit(limit)).all()
    # The cache holds committed items only: one added in this very transaction is simply not offered.
    known = [names.by_id[item_id] for item_id in containing if item_id in names.by_id]
    offered = [ItemMatch(item, CONTAINS, 1.0, item.name) for item in known]
    seen = {match.item.id for match in offered}
    offered += [match for match in matched if match.item.id not in seen]
    return offered[:limit]
