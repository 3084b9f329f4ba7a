"""The parsing child's two time limits say which one ran out: its own CPU time (``PARSE_CPU_SECONDS``, the
file's cost) or the worker's wait for it (``PARSE_WAIT_SECONDS``, a busy machine), each in Chinese too."""

from __future__ import annotations

import time

import pytest

from api.messages import catalog
from importers import limits
from importers.limits import WorkbookTooLarge
from importers.sandbox import Child
from inventory.errors import ValidationFailed


def test_a_parse_the_worker_stops_waiting_for_is_refused_for_the_wait(monkeypatch):
    monkeypatch.setattr(limits, "PARSE_WAIT_SECONDS", 0.3)
    child = Child(lambda send: time.sleep(30))  # asleep: no CPU spent, yet past the wait

    with pytest.raises(WorkbookTooLarge) as refused:
        child.receive()

    message = str(refused.value)
    assert "PARSE_WAIT_SECONDS" in message and "PARSE_CPU_SECONDS" not in message
    assert child.pid is None  # stopped and reaped
    assert "服务器等待" in catalog().translate(message, "zh") and "上限" in catalog().translate(message, "zh")


def test_a_parse_past_its_cpu_time_is_refused_for_the_cpu_limit(monkeypatch):
    monkeypatch.setattr(limits, "PARSE_CPU_SECONDS", 1)

    def spin(_send) -> None:
        while True:
            pass

    child = Child(spin)
    with pytest.raises(WorkbookTooLarge) as refused:
        child.receive()

    message = str(refused.value)
    assert "PARSE_CPU_SECONDS" in message and "PARSE_WAIT_SECONDS" not in message
    assert "处理时间上限" in catalog().translate(message, "zh")


def test_a_reader_s_panic_is_refused_in_words_a_person_can_act_on():
    """calamine's own panics reached the 422 as Rust's words: "PanicException: range end index 2 out of range"."""

    class PanicException(BaseException):  # what pyo3 raises for a Rust panic (not importable by name)
        pass

    def panic(_send) -> None:
        raise PanicException("range end index 2 out of range for slice of length 1")

    with pytest.raises(ValidationFailed) as refused:
        Child(panic).receive()

    message = str(refused.value)
    assert "range end index" not in message and "PanicException" not in message
    assert "save it again as .xlsx" in message
    assert (
        catalog().translate(message, "zh")
        == "无法读取工作簿：读取程序无法处理该文件（文件可能已损坏）：请用 Excel 或 WPS 打开后另存为 .xlsx"
    )
