"""The texts the server writes into stored ledger reasons and notes, and their reading in Chinese: their one home.

The writers make them from these templates (``SHIPMENT_RECEIVED.text(code=…)``) and the database keeps the
English, so a reader of either language can get it in theirs: the API (``api.messages.MessageCatalog.system_text``)
and a Chinese notice (``inventory.notice_text``) read a stored text back with ``in_chinese``. The page shows what
the API answers (it asks in the reader's language) and translates none of them itself.

Each parameter matches only the shape the server writes it in: a person's words ({note}, {reason}) and a file's
name any text, a quantity a number, a ledger entry its id, a date ISO, a call-up's or a shipment's code the one the
server gives it, any other an item's or a warehouse's code (``CODE_PATTERN``). So a person's words that merely
begin alike stay as written: "damaged in flood" is no difference of "in flood", "call-up tomorrow: bring gloves"
no call-up "tomorrow", "shipment tents, ledger entry 5" no shipment "tents".
Not here yet (s30, left): a unit variant's merge (``inventory.unit_variants``, "单位换算并入 …") and the demo's
opening balance (``inventory.demo``) write their reasons in Chinese, which an English reader gets as written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import lru_cache

from inventory.validation import CODE_PATTERN

CALLUP_CODE_SHAPE = r"CU-\d{8}-\d{5,}"  # inventory/callups.py gives a call-up its code so
SHIPMENT_CODE_SHAPE = r"SH-\d{8}-\d{5,}"  # inventory/shipments.py gives a shipment its code so

_PLACEHOLDER = re.compile(r"\{(\w+)\}")
_VALUES = {
    "note": ".+",
    "reason": ".+",
    "file": ".+",
    "quantity": r"\d+(?:\.\d+)?",
    "entry": r"\d+",
    "date": r"\d{4}-\d{2}-\d{2}",
}
_REGISTERED_CODE = CODE_PATTERN.pattern.removeprefix("^").removesuffix("$")


@dataclass(frozen=True)
class SystemText:
    """One text the server writes: its English template (as stored), its Chinese, the shape of its {code}."""

    english: str
    chinese: str
    code_shape: str = _REGISTERED_CODE
    listed: bool = False  # one part of a list joined by "; " (a plan's shortfalls, a receipt's differences)
    pattern: re.Pattern = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        parts: list[str] = []
        position = 0
        for match in _PLACEHOLDER.finditer(self.english):
            name = match.group(1)
            shape = self.code_shape if name == "code" else _VALUES.get(name, _REGISTERED_CODE)
            parts += [re.escape(self.english[position : match.start()]), f"(?P<{name}>{shape})"]
            position = match.end()
        parts.append(re.escape(self.english[position:]))
        object.__setattr__(self, "pattern", re.compile("".join(parts), re.DOTALL))

    def text(self, **params: object) -> str:
        """The text to store, in English."""
        return self.english.format(**params)

    def in_chinese(self, params: dict[str, str]) -> str:
        return _PLACEHOLDER.sub(lambda match: params[match.group(1)], self.chinese)


# A dispatch's ledger reason: the call-up's code, then the order's note when it has one
CALLUP = SystemText("call-up {code}", "调用单 {code}", CALLUP_CODE_SHAPE)
CALLUP_NOTE = SystemText("call-up {code}: {note}", "调用单 {code}：{note}", CALLUP_CODE_SHAPE)
SHIPMENT_RECEIVED = SystemText("shipment {code} received", "发运单 {code} 已接收", SHIPMENT_CODE_SHAPE)
SHIPMENT_TO = SystemText("shipment {code} to {warehouse}", "发运单 {code} 发往 {warehouse}", SHIPMENT_CODE_SHAPE)
# The note a dispatch without a note of its own records on its call-up line (and a dispatched notice says)
SHIPMENT_ENTRY = SystemText(
    "shipment {code}, ledger entry {entry}", "发运单 {code}，台账记录 {entry}", SHIPMENT_CODE_SHAPE
)
ALL_COVERED = SystemText("all needs covered", "全部需求已安排")  # a plan's outcome, or its shortfalls:
SHORT_BY = SystemText("{item} short by {quantity}", "{item} 缺 {quantity}", listed=True)
SHORT = SystemText("short {quantity}", "短少 {quantity}", listed=True)  # a receipt's differences, then its reason
DAMAGED = SystemText("damaged {quantity}", "损坏 {quantity}", listed=True)
EXPIRED_ISSUE = SystemText("allow_expired: batch expired {date}: {reason}", "过期批次仍出库（{date} 到期）：{reason}")
IMPORT_REVIEW = SystemText("导入复核更正 import review: {source} is {target}", "导入复核更正：{source} 即 {target}")
LEDGER_IMPORT = SystemText("台账导入 ledger import {file}", "台账导入 {file}")

# Most literal first: the template that says more of a text wins a tie
_TEMPLATES = sorted(
    [
        *(CALLUP, CALLUP_NOTE, SHIPMENT_RECEIVED, SHIPMENT_TO, SHIPMENT_ENTRY),
        *(ALL_COVERED, SHORT_BY, SHORT, DAMAGED, EXPIRED_ISSUE, IMPORT_REVIEW, LEDGER_IMPORT),
    ],
    key=lambda template: len(_PLACEHOLDER.sub("", template.english)),
    reverse=True,
)


@lru_cache(maxsize=4096)  # a movement list's answer reads hundreds a second
def in_chinese(text: str) -> str:
    """A stored reason or note in Chinese when the server wrote it; a person's words, and a person's part of it
    (a call-up's note, the reason after a receipt's differences), as written."""
    whole = _read(text)
    if whole is not None:
        return whole
    head, colon, tail = text.partition(": ")
    parts = [_read(part, listed=True) for part in head.split("; ")]
    if any(part is None for part in parts):
        return text
    return "；".join(parts) + (f"：{tail}" if colon else "")  # type: ignore[arg-type]


def _read(text: str, listed: bool = False) -> str | None:
    for template in _TEMPLATES:
        if listed and not template.listed:
            continue
        match = template.pattern.fullmatch(text)
        if match:
            params = match.groupdict()
            if "quantity" in params:  # "short 2.000" as the page shows a quantity: 2
                params["quantity"] = _plain_number(params["quantity"])
            if "note" in params:  # a dispatch's reason holds the issue's own when it took an expired batch
                params["note"] = _read(params["note"]) or params["note"]
            return template.in_chinese(params)
    return None


def _plain_number(text: str) -> str:
    try:
        return format(Decimal(text).normalize(), "f")
    except InvalidOperation:
        return text
