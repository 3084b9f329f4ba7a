"""What each kind of event says, in Chinese and English: the inbox title, the email subject and body.

One function per kind turns the event's payload into a ``Notice``; the inbox, the email and the digest all
read it from here, so a wording changes in one place. Payload keys a kind does not carry read as blanks,
so an event written by an older (or newer) version still renders.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from inventory.reference import NotificationKind
from inventory.system_texts import in_chinese


@dataclass(frozen=True)
class Notice:
    title_zh: str
    title_en: str
    lines_zh: tuple[str, ...] = ()
    lines_en: tuple[str, ...] = ()

    @property
    def subject(self) -> str:
        return f"{self.title_zh} / {self.title_en}"

    def body(self) -> str:
        """Chinese first (the users work in Chinese), then English."""
        return "\n".join([self.title_zh, *self.lines_zh, "", self.title_en, *self.lines_en, ""])


class _Blank(dict):
    def __missing__(self, key: str) -> str:
        return ""


def _fields(payload: Mapping) -> _Blank:
    return _Blank({key: value for key, value in payload.items() if not isinstance(value, list | dict)})


def _line_list(payload: Mapping, key: str = "lines") -> list[Mapping]:
    value = payload.get(key)
    return [line for line in value if isinstance(line, Mapping)] if isinstance(value, list) else []


def _waiting(p: Mapping) -> Notice:
    """Payload: callup_code, incident_name, requester, warehouse_code/_name, lines: [{item_name, batch, …}]."""
    f = _fields(p)
    lines = _line_list(p)
    rows = [_Blank({**line, "batch": line.get("batch") or "—"}) for line in lines]
    return Notice(
        "调用 {callup_code}（{incident_name}）：{n} 条待 {warehouse_name} 处理".format_map({**f, "n": len(lines)}),
        "Call-up {callup_code} ({incident_name}): {n} line(s) waiting at {warehouse_name}".format_map(
            {**f, "n": len(lines)}
        ),
        (
            *("{item_name} 批次 {batch}：{quantity} {unit}".format_map(r) for r in rows),
            "申请人：{requester}；请在“我的仓库的调用”中发运或拒绝。".format_map(f),
        ),
        (
            *("{item_name} batch {batch}: {quantity} {unit}".format_map(r) for r in rows),
            "Requested by {requester}; dispatch or decline it under “Call-ups for my warehouses”.".format_map(f),
        ),
    )


def _dispatched(p: Mapping) -> Notice:
    f = _fields(p)
    return Notice(
        "调用 {callup_code}：{warehouse_name} 已发运 {item_name} {quantity} {unit}".format_map(f),
        "Call-up {callup_code}: {warehouse_name} dispatched {quantity} {unit} of {item_name}".format_map(f),
        ("事件：{incident_name}；操作人：{decided_by}；说明：{note}".format_map({**f, "note": in_chinese(f["note"])}),),
        ("Incident: {incident_name}; by {decided_by}; note: {note}".format_map(f),),
    )


def _declined(p: Mapping) -> Notice:
    f = _fields(p)
    return Notice(
        "调用 {callup_code}：{warehouse_name} 拒绝了 {item_name} {quantity} {unit}".format_map(f),
        "Call-up {callup_code}: {warehouse_name} declined {quantity} {unit} of {item_name}".format_map(f),
        ("事件：{incident_name}；原因：{reason}；其余需求已重新规划。".format_map(f),),
        ("Incident: {incident_name}; reason: {reason}; the remainder was planned again.".format_map(f),),
    )


def _overdue(p: Mapping) -> Notice:
    """Payload: shipment_code, eta, callup_code, from_warehouse_name, carrier, driver_phone."""
    f = _fields(p)
    return Notice(
        "发运 {shipment_code} 已超过预计到达时间 {eta}".format_map(f),
        "Shipment {shipment_code} is past its estimated arrival {eta}".format_map(f),
        ("调用：{callup_code}；发出：{from_warehouse_name}；承运：{carrier} {driver_phone}".format_map(f),),
        ("Call-up: {callup_code}; from {from_warehouse_name}; carrier: {carrier} {driver_phone}".format_map(f),),
    )


def _discrepancy(p: Mapping) -> Notice:
    """Payload: shipment_code, callup_code, lines: [{item_name, unit, dispatched, received, reason}]."""
    f = _fields(p)
    rows = [_Blank(line) for line in _line_list(p)]
    return Notice(
        "发运 {shipment_code} 接收有差异（{n} 项）".format_map({**f, "n": len(rows)}),
        "Shipment {shipment_code} received with discrepancies ({n} line(s))".format_map({**f, "n": len(rows)}),
        tuple("{item_name}：发出 {dispatched}，收到 {received} {unit}（{reason}）".format_map(r) for r in rows),
        tuple("{item_name}: sent {dispatched}, received {received} {unit} ({reason})".format_map(r) for r in rows),
    )


def _digest(p: Mapping) -> Notice:
    f = _fields(p)
    sections = {name: p.get(name) if isinstance(p.get(name), Mapping) else {} for name in DIGEST_SECTIONS}
    counts = {name: section.get("count", 0) for name, section in sections.items()}
    lines_zh: list[str] = []
    lines_en: list[str] = []
    for name, (heading_zh, heading_en) in DIGEST_SECTIONS.items():
        rows = [str(row) for row in sections[name].get("rows", [])]
        if not rows:
            continue
        lines_zh += ["", f"{heading_zh}（{counts[name]}）", *rows]
        lines_en += ["", f"{heading_en} ({counts[name]})", *rows]
        if counts[name] > len(rows):
            lines_zh.append(f"……另有 {counts[name] - len(rows)} 条，请在页面中查看。")
            lines_en.append(f"… and {counts[name] - len(rows)} more on the page.")
    return Notice(
        "{date} 每日摘要：临期 {expiring} 批，配额不足 {shortfalls} 项，未完成调用 {open_callups} 个".format_map(
            {**f, **counts}
        ),
        (
            "Daily digest {date}: {expiring} batches expiring, {shortfalls} quotas short, {open_callups} call-ups open"
        ).format_map({**f, **counts}),
        tuple(lines_zh),
        tuple(lines_en),
    )


DIGEST_SECTIONS = {
    "expiring": ("临期与过期物资", "Expiring or expired stock"),
    "shortfalls": ("低于储备配额", "Below reserve quota"),
    "open_callups": ("未完成的调用", "Call-ups still open"),
}

_RENDERERS: dict[NotificationKind, Callable[[Mapping], Notice]] = {
    NotificationKind.CALLUP_LINE_WAITING: _waiting,
    NotificationKind.CALLUP_LINE_DISPATCHED: _dispatched,
    NotificationKind.CALLUP_LINE_DECLINED: _declined,
    NotificationKind.SHIPMENT_OVERDUE: _overdue,
    NotificationKind.RECEIPT_DISCREPANCY: _discrepancy,
    NotificationKind.DAILY_DIGEST: _digest,
}


def notice_for(kind: NotificationKind, payload: Mapping) -> Notice:
    return _RENDERERS[NotificationKind(kind)](payload)
