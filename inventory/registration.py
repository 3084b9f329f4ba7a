"""Warehouses named by bulk input (a ledger): found by code or name, updated, or registered with defaults.

``find_or_register_warehouses`` is the service an importer calls once with every warehouse its file
names. Each is found by its code, else by its name (compared by ``warehouse_name_key``); its county
comes from the county code, else from the province / city / county names (``RegionNames.county_for``).
A warehouse found is updated through ``update_warehouse`` with what differs; one not found is
registered in one bulk INSERT (``register_warehouses``: ``create_warehouse``'s checks, in its order,
with its messages), level county and the county's centre standing in for what the input leaves out.
The outcome says, per warehouse, what was found, defaulted, refused and why; the wording of the
report is the caller's.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session, lazyload

from inventory.access import Actor, require_warehouse_management
from inventory.audit import record_audits, snapshot
from inventory.db import chunks, insert_many
from inventory.errors import Conflict, DomainError, Forbidden, ValidationFailed, required
from inventory.models import Region, Warehouse
from inventory.reference import WarehouseLevel, WarehouseStatus
from inventory.regions import PlaceGiven, RegionNames, RegionPath, name_key, resolve_region_path
from inventory.validation import (
    CODE_PATTERN,
    check_code,
    check_coordinate,
    check_text,
    fold,
    invalid_character_message,
)
from inventory.warehouses import ENUM_FIELDS, REQUIRED_FIELDS, TEXT_LIMITS, WAREHOUSE_FIELDS, update_warehouse

# Longest first: what people add to or leave off a warehouse's name (东城储备库 = 东城仓库 = 东城应急物资储备仓库).
WAREHOUSE_NAME_SUFFIXES = ("储备仓库", "储备库", "储备点", "仓库", "库")
WAREHOUSE_NAME_PURPOSES = ("环境应急物资", "应急物资", "物资")  # said before the suffix, or not
# Generated codes: the county code, a dash and a sequence within the county (110101-001, 110101-002 …).
GENERATED_CODE_DIGITS = 3


def warehouse_name_key(name: str) -> str:
    """How a warehouse's name is compared when it stands for its code: width and case folded
    (``validation.fold``), no spaces, punctuation or brackets, and no 库/仓库/储备库/储备点 suffix."""
    key = name_key(fold(name))
    for words in (WAREHOUSE_NAME_SUFFIXES, WAREHOUSE_NAME_PURPOSES):
        for suffix in words:
            if key.endswith(suffix) and len(key) > len(suffix):
                key = key[: -len(suffix)]
                break
    return key


def same_value(current: object, given: object) -> bool:
    """Whether a stored value equals a value given for it (enums by code, floats to 1e-7 degrees)."""
    if isinstance(current, float) or isinstance(given, float):
        try:
            return abs(float(current) - float(given)) < 1e-7  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return False
    current = getattr(current, "value", current)
    return (current or "") == (given or "")


@dataclass(slots=True)
class WarehouseWanted:
    """A warehouse as an input describes it; ``key`` is the caller's handle.

    ``fields`` are ``create_warehouse``'s keywords as given (``name``, ``reserve_type``, ``level``,
    ``latitude``…); the county comes from ``place``. Without a code, ``name`` finds the warehouse.
    """

    key: object
    code: str
    name: str
    fields: dict[str, object]
    place: PlaceGiven = field(default_factory=PlaceGiven)
    # The county the input names for the warehouses that give none (a ledger sheet's title, 东城区…台账): where
    # one named only by name is looked for, and a new one registered, when neither place nor address tells.
    fallback_county: str = ""


@dataclass(frozen=True, slots=True)
class Defaulted:
    """A value registration filled in: ``level`` (county), ``coordinates`` (the centre of ``place``), or
    ``county`` (``place``, the county seat nearest the coordinates given)."""

    field: str
    place: str = ""


@dataclass(slots=True)
class WarehouseOutcome:
    """What became of one wanted warehouse.

    ``code`` is the code given, or that of the warehouse found by name. ``new``: it went to bulk
    registration (``warehouse`` set when registered, ``error`` when refused there); otherwise ``error``
    says why it could not be found or updated. ``county_named`` is the real name of the county code
    given when the county name given cannot mean it (the code wins).
    """

    key: object
    code: str
    warehouse: Warehouse | None = None
    error: DomainError | None = None
    new: bool = False
    updated: bool = False
    generated: bool = False  # registered under a generated code (``_CodeSequence``)
    county_named: str | None = None
    defaulted: list[Defaulted] = field(default_factory=list)
    # Fields that differ from the registry, kept as registered: the actor may change the warehouse's stock, not its
    # record (a manager importing their own ledger with a new phone)
    kept: list[str] = field(default_factory=list)


@dataclass
class WarehouseResolution:
    """Every outcome in the order wanted; the registered and the refused new ones in the order registration
    gave them."""

    outcomes: list[WarehouseOutcome]
    registered: list[WarehouseOutcome]
    refused: list[WarehouseOutcome]

    @property
    def updated(self) -> int:
        return sum(1 for outcome in self.outcomes if outcome.updated)


def find_or_register_warehouses(
    session: Session, actor: Actor, wanted: list[WarehouseWanted], places: RegionNames
) -> WarehouseResolution:
    """Find each wanted warehouse and update what differs, or register it with defaults (see the module)."""
    counties, from_title = _counties_of_uncoded(wanted, places)
    _found_outside_the_title_s_county(session, wanted, counties, from_title, places)
    by_code = _by_code(session, [want.code for want in wanted if want.code])
    new_coded = _counties_of_new_coded(wanted, by_code, places)
    # Locked before the name lookup: two imports naming the same new warehouse wait for each other, and the
    # second finds what the first registered instead of registering it again under the next code (or, given its
    # code, breaking the code's uniqueness: the whole import refused).
    codes = _CodeSequence(session, sorted(set(counties.values()) | set(new_coded.values())))
    by_code.update(_by_code(session, list(new_coded)))  # registered meanwhile by an import that locked first
    found = _WarehouseLookup.load(session, wanted, counties, by_code)
    pending: list[NewWarehouse] = []
    first_named: dict[tuple[str, str], WarehouseOutcome] = {}  # (county, name key) → the first want so named
    same_as: list[tuple[WarehouseOutcome, WarehouseOutcome]] = []
    outcomes = [WarehouseOutcome(want.key, want.code) for want in wanted]
    coded = _coded_by_name(wanted, outcomes, found, places)
    # Once per county code and name as written: a national ledger repeats them for each of a county's warehouses.
    misnamed = functools.cache(places.misnamed)
    for want, outcome in zip(wanted, outcomes, strict=True):
        if not want.code and want.key in counties:
            named = (counties[want.key], warehouse_name_key(want.name))
            if named in first_named:  # the same warehouse written another way in the same input
                same_as.append((outcome, first_named[named]))
                continue
            first_named[named] = outcome
            if named in coded and not found.in_county.get(named):
                # the same input gives this warehouse's code on another row: one warehouse, under that code
                first_named[named] = coded[named]
                same_as.append((outcome, coded[named]))
                continue
        try:
            warehouse = found.by_code.get(want.code) if want.code else found.named(want.name, counties.get(want.key))
            if warehouse is not None:
                outcome.code = warehouse.code
            fields = _service_fields(want, outcome, places, misnamed, new=warehouse is None)
            if warehouse is None:
                code = want.code or _generated_code(want, fields, codes)
                outcome.code, outcome.generated, outcome.new = code, not want.code, True
                pending.append(NewWarehouse(key=want.key, code=code, fields=fields))
                continue
            if not want.code:
                fields.pop("name", None)  # found by its name as written here: a variant spelling renames nothing
            outcome.warehouse = _updated(session, actor, warehouse, fields, outcome)
        except DomainError as error:
            outcome.error = error
    by_key = {outcome.key: outcome for outcome in outcomes}
    registered, refused = register_warehouses(session, actor, pending)
    for key, warehouse in registered.items():
        by_key[key].warehouse = warehouse
    for key, error in refused:
        by_key[key].error = error
    for outcome, first in same_as:
        outcome.code, outcome.warehouse, outcome.error = first.code, first.warehouse, first.error
    return WarehouseResolution(outcomes, [by_key[key] for key in registered], [by_key[key] for key, _error in refused])


def _coded_by_name(
    wanted: list[WarehouseWanted], outcomes: list[WarehouseOutcome], found: _WarehouseLookup, places: RegionNames
) -> dict[tuple[str, str], WarehouseOutcome]:
    """(county, name key) → the first want that gives a code with that name: a row naming the warehouse only
    by its name and county is the same warehouse (its county: the stored one, else the one the row names)."""
    coded: dict[tuple[str, str], WarehouseOutcome] = {}
    for want, outcome in zip(wanted, outcomes, strict=True):
        if not want.code or not want.name:
            continue
        known = found.by_code.get(want.code)
        try:
            county = known.county_code if known is not None else places.county_for(want.place)
        except DomainError:
            continue  # reported when the warehouse's fields are worked out
        if county:
            coded.setdefault((county, warehouse_name_key(want.name)), outcome)
    return coded


def county_from_details(fields: dict[str, object], places: RegionNames, fallback: str = "") -> tuple[str, str]:
    """Where no county is named: the county the address names, else ``fallback`` (``WarehouseWanted``'s: the
    sheet's title), else the nearest county seat to the coordinates; and which told (``ADDRESS``, ``FALLBACK``,
    ``GUESS``: a guess, to be reported). ``("", "")`` when none tells."""
    county = places.county_in_address(str(fields.get("address") or ""))
    if county:
        return county, ADDRESS
    if fallback:
        return fallback, FALLBACK
    latitude, longitude = fields.get("latitude"), fields.get("longitude")
    if isinstance(latitude, int | float) and isinstance(longitude, int | float):
        county = places.nearest_county(float(latitude), float(longitude))
        return county, GUESS if county else ""
    return "", ""


ADDRESS, FALLBACK, GUESS = "address", "fallback", "guess"  # what told ``county_from_details`` the county


def _counties_of_uncoded(wanted: list[WarehouseWanted], places: RegionNames) -> tuple[dict[object, str], set[object]]:
    """The county of each warehouse wanted by name only, where its place names one (else it is left out); and
    the keys of those whose county only ``fallback_county`` gives (the sheet's title)."""
    counties: dict[object, str] = {}
    from_fallback: set[object] = set()
    for want in wanted:
        if want.code:
            continue
        try:
            county = places.county_for(want.place)
            if not county:
                county, told_by = county_from_details(want.fields, places, want.fallback_county)
                if told_by == FALLBACK:
                    from_fallback.add(want.key)
        except DomainError:
            continue  # reported when the warehouse's fields are worked out
        if county in places.by_code:
            counties[want.key] = county
    return counties, from_fallback


def _found_outside_the_title_s_county(
    session: Session,
    wanted: list[WarehouseWanted],
    counties: dict[object, str],
    from_fallback: set[object],
    places: RegionNames,
) -> None:
    """A warehouse named by name only, whose county only the sheet's title gives, is looked for by its name
    alone (as without the title) when warehouses so called exist in the title county's city and none in that
    county: the title's county is for registering a new one, never a second 市级储备库 beside the one registered in
    the next district. A name registered only in other cities (应急物资仓库 is everywhere) is not that one: a
    title naming 东城区 never books stock into 横州's warehouse of the same name."""
    wants = [want for want in wanted if want.key in from_fallback and want.key in counties]
    stored: dict[str, set[str]] = {}
    names = [want.name for want in wants if invalid_character_message(want.name) is None]
    for chunk in chunks(names):
        for name, county in session.execute(
            select(Warehouse.name, Warehouse.county_code).where(Warehouse.name.in_(chunk))
        ):
            stored.setdefault(warehouse_name_key(name), set()).add(county)
    for want in wants:
        found_in = stored.get(warehouse_name_key(want.name), set())
        title_county = counties[want.key]
        city = places.city_of(title_county)
        if title_county not in found_in and any(places.city_of(county) == city for county in found_in):
            del counties[want.key]


def _counties_of_new_coded(
    wanted: list[WarehouseWanted], by_code: dict[str, Warehouse], places: RegionNames
) -> dict[str, str]:
    """The county of each warehouse given a code no warehouse has yet, where its place names one (its code →
    the county): locked, like those of the uncoded ones, while it is registered."""
    counties: dict[str, str] = {}
    for want in wanted:
        if not want.code or want.code in by_code:
            continue
        try:
            county = places.county_for(want.place)
        except DomainError:
            continue  # reported when the warehouse's fields are worked out
        if county in places.by_code:
            counties[want.code] = county
    return counties


def _by_code(session: Session, codes: list[str]) -> dict[str, Warehouse]:
    """The warehouses with these codes. A code or name no stored warehouse can have (``check_code`` keeps them
    out) is not looked up: PostgreSQL refuses a NUL in a parameter outright; registering it refuses it."""
    found: dict[str, Warehouse] = {}
    for chunk in chunks([code for code in codes if CODE_PATTERN.match(code)]):
        found.update((w.code, w) for w in session.scalars(select(Warehouse).where(Warehouse.code.in_(chunk))))
    return found


def _generated_code(want: WarehouseWanted, fields: dict[str, object], codes: _CodeSequence) -> str:
    county = str(fields.get("county_code") or "")
    if not county:
        raise DomainError(
            # No name: the importer, its only caller, says which warehouse ("warehouse 东城库: not registered…").
            "not registered and no county is given: give its county (所在区县) or its code (仓库编码)",
            field="county_code",
        )
    return codes.next(county)


class _CodeSequence:
    """Codes for warehouses registered without one: ``<county code>-<sequence>``, the sequence counted on
    from the highest such code in the county. The county's region row is locked first (it always exists), so
    two imports cannot hand out the same code, nor both register one warehouse (SQLite: one writer anyway)."""

    def __init__(self, session: Session, counties: list[str]) -> None:
        self.following: dict[str, int] = {}
        for chunk in chunks(counties):  # in code order: every import takes the locks in the same order
            wanted = set(chunk)
            session.execute(select(Region.code).where(Region.code.in_(chunk)).order_by(Region.code).with_for_update())
            codes = session.scalars(select(Warehouse.code).where(Warehouse.county_code.in_(chunk)))
            for code in codes:
                county, dash, number = code.partition("-")
                if dash and number.isdigit() and county in wanted:
                    self.following[county] = max(self.following.get(county, 1), int(number) + 1)

    def next(self, county: str) -> str:
        number = self.following.get(county, 1)
        self.following[county] = number + 1
        return f"{county}-{number:0{GENERATED_CODE_DIGITS}d}"


@dataclass
class _WarehouseLookup:
    by_code: dict[str, Warehouse]
    by_name: dict[str, list[Warehouse]]  # name key → warehouses so called, for names given without a county
    in_county: dict[tuple[str, str], list[Warehouse]]  # (county, name key) → warehouses

    @classmethod
    def load(
        cls,
        session: Session,
        wanted: list[WarehouseWanted],
        counties: dict[object, str],
        by_code: dict[str, Warehouse],
    ) -> _WarehouseLookup:
        # A name no stored warehouse can have (``check_text`` keeps them out) is not looked up: PostgreSQL refuses
        # a NUL in a parameter outright; registering it then refuses it per warehouse (codes: ``_by_code``).
        by_name: dict[str, list[Warehouse]] = {}
        names = [want.name for want in wanted if not want.code and want.key not in counties]
        for chunk in chunks([name for name in names if invalid_character_message(name) is None]):
            for warehouse in session.scalars(select(Warehouse).where(Warehouse.name.in_(chunk))):
                by_name.setdefault(warehouse_name_key(warehouse.name), []).append(warehouse)
        in_county: dict[tuple[str, str], list[Warehouse]] = {}
        for chunk in chunks(sorted(set(counties.values()))):
            for warehouse in session.scalars(select(Warehouse).where(Warehouse.county_code.in_(chunk))):
                in_county.setdefault((warehouse.county_code, warehouse_name_key(warehouse.name)), []).append(warehouse)
        return cls(by_code, by_name, in_county)

    def named(self, name: str, county: str | None) -> Warehouse | None:
        """The warehouse of that name (compared by ``warehouse_name_key``) in the county, when one is given."""
        key = warehouse_name_key(name)
        found = self.in_county.get((county, key), []) if county else self.by_name.get(key, [])
        if len(found) > 1:
            raise DomainError(f"{len(found)} warehouses are called {name!r}: give the code (仓库编码)", field="name")
        return found[0] if found else None


def _service_fields(
    want: WarehouseWanted,
    outcome: WarehouseOutcome,
    places: RegionNames,
    misnamed: Callable[[str, str], str | None],
    *,
    new: bool,
) -> dict[str, object]:
    """The keywords for create/update_warehouse: the county from codes or names, defaults for a new one
    (``misnamed``: ``places.misnamed``, remembered)."""
    fields = dict(want.fields)
    place = want.place
    county = places.county_for(place)
    if not county and new:
        county, told_by = county_from_details(fields, places, want.fallback_county)
        if told_by == GUESS:
            outcome.defaulted.append(Defaulted("county", places.by_code[county].name))
    if place.county_code:
        outcome.county_named = misnamed(place.county_code, place.county_name)
    if county:
        fields["county_code"] = county
        if county not in places.by_code:  # said first: without it no county centre can stand in for coordinates
            raise ValidationFailed(f"unknown region code {county!r}", field="county_code")
    if new:
        if "level" not in fields:
            fields["level"] = WarehouseLevel.COUNTY.value
            outcome.defaulted.append(Defaulted("level"))
        if ("latitude" not in fields or "longitude" not in fields) and county in places.by_code:
            centre = places.by_code[county]
            fields.setdefault("latitude", centre.latitude)
            fields.setdefault("longitude", centre.longitude)
            outcome.defaulted.append(Defaulted("coordinates", centre.name))
    return fields


def _updated(
    session: Session, actor: Actor, warehouse: Warehouse, fields: dict[str, object], outcome: WarehouseOutcome
) -> Warehouse:
    """The warehouse with the given fields that differ applied through ``update_warehouse``."""
    changes = {name: value for name, value in fields.items() if not same_value(getattr(warehouse, name), value)}
    if not changes:
        return warehouse
    try:
        require_warehouse_management(actor, warehouse.province_code)
    except Forbidden:
        # Its stock is the actor's to count or not (``require_stock_change`` says, as for any row): a phone that
        # differs no longer refuses a manager's own stock, it is kept as registered and said.
        outcome.kept = sorted(changes)
        return warehouse
    with session.begin_nested():  # a refused update leaves no half-changed object behind
        warehouse = update_warehouse(session, actor, warehouse.code, **changes)
    outcome.updated = True
    return warehouse


@dataclass(frozen=True, slots=True)
class NewWarehouse:
    """A warehouse to register: the keywords ``create_warehouse`` takes; ``key`` is the caller's handle."""

    key: object
    code: str
    fields: dict[str, object]


def register_warehouses(
    session: Session, actor: Actor, new: list[NewWarehouse]
) -> tuple[dict[object, Warehouse], list[tuple[object, DomainError]]]:
    """Register many warehouses at once under exactly the rules of ``create_warehouse``, in one INSERT.

    A national ledger registers thousands of warehouses; one ``create_warehouse`` each costs several
    round trips apiece. The checks are the same public ones the service composes (``check_code``,
    ``check_text`` with ``TEXT_LIMITS``, ``ENUM_FIELDS``, ``check_coordinate``, ``resolve_region_path``,
    ``require_warehouse_management``), in the same order, with the same messages; a test holds the two
    paths to the same verdicts. Returns the registered warehouses by key, and the refused keys with why.
    """
    errors: list[tuple[object, DomainError]] = []
    rows: list[dict] = []
    keys: dict[str, object] = {}
    taken: set[str] = set()
    codes = [entry.code.strip() for entry in new]
    for chunk in chunks([code for code in codes if CODE_PATTERN.match(code)]):  # others: refused by check_code
        taken.update(session.scalars(select(Warehouse.code).where(Warehouse.code.in_(chunk))))
    now = dt.datetime.now(dt.UTC)
    # Asked once per county and per province (a national ledger: 7,600 warehouses in ~2,800 counties); a refusal
    # is not remembered, so each warehouse it concerns raises its own.
    region_path = functools.cache(functools.partial(resolve_region_path, session))
    may_manage = functools.cache(functools.partial(require_warehouse_management, actor))
    for entry in new:
        try:
            row = _warehouse_values(entry, taken, region_path, may_manage)
        except DomainError as error:
            errors.append((entry.key, error))
            continue
        keys[row["code"]] = entry.key
        taken.add(row["code"])  # the codes in use and those registered so far
        rows.append({**row, "created_at": now, "updated_at": now})
    registered: dict[object, Warehouse] = {}
    if rows:
        insert_many(session, Warehouse.__table__, rows)
        # Without the county joined in (7,600 warehouses: the join's per-row work cost more than the select):
        # ``county``, if ever read, comes from the identity map where the caller holds the regions (the importer).
        for chunk in chunks(list(keys)):
            query = select(Warehouse).where(Warehouse.code.in_(chunk)).options(lazyload(Warehouse.county))
            for warehouse in session.scalars(query):
                registered[keys[warehouse.code]] = warehouse
        # In the order the warehouses were loaded, as one entry each (``record_audit``'s values, one INSERT).
        record_audits(
            session,
            actor,
            "warehouse.create",
            object_type="warehouse",
            entries=(
                (warehouse.code, warehouse.province_code, snapshot(warehouse)) for warehouse in registered.values()
            ),
        )
    return registered, errors


def _warehouse_values(
    entry: NewWarehouse,
    taken: set[str],
    region_path: Callable[[str], RegionPath],
    may_manage: Callable[[str], object],
) -> dict[str, object]:
    """The column values of one new warehouse, checked as ``create_warehouse`` checks them (``region_path``:
    ``resolve_region_path``, ``may_manage``: ``require_warehouse_management``, both remembered)."""
    code = check_code(entry.code)
    fields = entry.fields
    for name in REQUIRED_FIELDS:
        if fields.get(name) in (None, ""):
            raise required(name)
    if code in taken:
        raise Conflict(f"warehouse code {code!r} is already in use", field="code")
    unknown = set(fields) - WAREHOUSE_FIELDS
    if unknown:
        name = sorted(unknown)[0]
        raise ValidationFailed(f"unknown field {name}", field=name)
    values: dict[str, object] = {"code": code, "status": WarehouseStatus.ACTIVE}
    values.update({name: "" for name in TEXT_LIMITS if name != "name"})
    for name, limit in TEXT_LIMITS.items():
        if name in fields:
            values[name] = check_text(fields[name], name, max_length=limit, required=name == "name")  # type: ignore[arg-type]
    for name, enum_class in ENUM_FIELDS.items():
        if name in fields:
            try:
                values[name] = enum_class(fields[name])
            except ValueError as exc:
                allowed = ", ".join(m.value for m in enum_class)
                raise ValidationFailed(f"{fields[name]!r} is not one of {allowed}", field=name) from exc
    values["latitude"], values["longitude"] = check_coordinate(fields["latitude"], fields["longitude"])  # type: ignore[arg-type]
    path = region_path(fields["county_code"])  # type: ignore[arg-type]
    values["county_code"], values["city_code"], values["province_code"] = (
        path.county_code,
        path.city_code,
        path.province_code,
    )
    may_manage(path.province_code)
    return values
