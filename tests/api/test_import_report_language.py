"""Every import report message of the field corpus is in the reader's language, with its code, in row order.

The rule: the importer writes English templates; the catalog (``api/messages.py``) gives each its code and
Chinese. A template's parameters are text from the workbook (a sheet, a header, a cell value, an item name)
and are shown as written, so Chinese is allowed in English output only inside a parameter's value or in
parentheses, where a template names a column header or a value as the workbook writes it ("no level
(仓库级别) given"); under zh-CN the text around the parameters is Chinese (no English word of the template
survives).
"""

from __future__ import annotations

import io
import re

import pytest

from api.messages import NESTED_PARAMS, UNLISTED, catalog
from tests.api.helpers import API
from tests.importers.conftest import HEADER, ledger_row, sheet_of_rows, xlsx
from tests.importers.field_corpus import FAMILIES, county_without_reserve_type

CJK = re.compile(r"[\u4e00-\u9fff]")
IN_PARENTHESES = re.compile(r"\([^()]*\)")
ENGLISH_WORD = re.compile(r"[A-Za-z]{3,}")
# Words the Chinese texts keep as they are (file formats, the spreadsheet programs, the template's sheet names).
KEPT_WORDS = {"Excel", "WPS", "xlsx", "XLSX", "ZIP", "zip", "XML", "xml"}


def _report(client, data: bytes, name: str, lang: str) -> dict:
    response = client.post(
        f"{API}/imports",
        query_string={"lang": lang, "skip_invalid": "true", "dry_run": "true"},
        data={"file": (io.BytesIO(data), f"{name}.xlsx")},
        content_type="multipart/form-data",
    )
    assert response.status_code in (200, 422), response.get_json()
    body = response.get_json()
    return body.get("report", body)


def _outside_params(issue: dict) -> str:
    """The message without its parameters' values (text from the workbook, shown as written)."""
    text = issue["message"]
    for value in sorted(issue.get("params", {}).values(), key=len, reverse=True):
        text = text.replace(value, " ")
    return text


def _wrong_language(report: dict, lang: str) -> list[str]:
    wrong = []
    for kind in ("errors", "warnings", "notes"):
        for issue in report[kind]:
            if issue.get("code") in (None, UNLISTED):
                wrong.append(f"{kind} without a catalog entry: {issue['message']}")
                continue
            # a message inside the message is a parameter, but no text from the workbook: it has its entry too
            for name, value in issue.get("params", {}).items():
                if name in NESTED_PARAMS and catalog().message(value, "en").code == UNLISTED:
                    wrong.append(f"{kind} with a {name} without a catalog entry: {issue['message']}")
            rest = _outside_params(issue)
            if lang == "en" and CJK.search(IN_PARENTHESES.sub(" ", rest)):
                wrong.append(f"{kind} in Chinese: {issue['message']}")
            if lang == "zh" and set(ENGLISH_WORD.findall(rest)) - KEPT_WORDS:
                wrong.append(f"{kind} in English: {issue['message']}")
    return wrong


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_field_corpus_reports_in_one_language_in_row_order(client, lang):
    wrong = []
    for family in FAMILIES:
        book = family()
        report = _report(client, book.data, book.name, lang)
        wrong += [f"{book.name}: {text}" for text in _wrong_language(report, lang)]
        sheets = [sheet["name"] for sheet in report["sheets"]]
        for kind in ("errors", "warnings", "notes"):
            places = [
                (sheets.index(issue["sheet"]) if issue["sheet"] in sheets else len(sheets), issue.get("row") or 0)
                for issue in report[kind]
                if issue.get("sheet") is not None
            ]
            assert places == sorted(places), (book.name, kind)
    assert not wrong, "\n".join(wrong)


def test_the_review_list_and_the_catalogue_reviews_speak_the_reader_s_language(client):
    book = FAMILIES[-1]()  # coordinates in one cell and unit variants: a new warehouse, a fuzzy match, a variant
    response = client.post(
        f"{API}/imports",
        query_string={"skip_invalid": "true"},
        data={"file": (io.BytesIO(book.data), f"{book.name}.xlsx")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 201, response.get_json()
    import_id = response.get_json()["import_id"]

    def details(header: str) -> list[tuple[str, str]]:
        review = client.get(f"{API}/imports/{import_id}/review", headers={"Accept-Language": header}).get_json()
        entries = [(entry["kind"], entry["detail"]) for kind in review.values() for entry in kind]
        items = client.get(f"{API}/catalogue-reviews", headers={"Accept-Language": header}).get_json()
        return entries + [(entry["reason"], entry["detail"]) for entry in items]

    english, chinese = details("en-GB,en;q=0.9"), details("zh-CN,zh;q=0.9")
    assert {"new_warehouse", "fuzzy_match", "unit_variant"} <= {kind for kind, _detail in english}
    assert len(english) == len(chinese)
    for (_kind, detail), (_same, shown) in zip(english, chinese, strict=True):
        message = catalog().message(detail, "en")
        assert message.code != UNLISTED, detail
        assert not CJK.search(_outside_params({"message": detail, "params": message.params})), detail
        assert shown == catalog().translate(detail, "zh") and shown != detail, shown


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_a_refused_ledger_s_problem_code_is_the_refusal_s_whatever_its_summary_ends_with(client, lang):
    """The 422's ``detail`` is the summary already in the reader's language: its ``code`` is the problem's own
    (``invalid_ledger``), never the code of a summary piece that happened to match (``{count} warnings``)."""
    rows = [HEADER, ledger_row("W-1", "活性炭", 7), ledger_row("W-1", "生石灰", "lots"), ["合计"]]
    response = client.post(
        f"{API}/imports",
        query_string={"lang": lang, "dry_run": "true"},
        data={"file": (io.BytesIO(sheet_of_rows(rows)), "ledger.xlsx")},
        content_type="multipart/form-data",
    )

    body = response.get_json()
    assert response.status_code == 422, body
    assert body["report"]["errors"] and body["report"]["warnings_total"]  # the summary ends "… 2 warnings"
    assert body["code"] == "invalid_ledger" and body["params"] == {}, (body["code"], body["detail"])
    assert ("warnings" in body["detail"]) == (lang == "en") and ("警告" in body["detail"]) == (lang == "zh")


def test_a_refused_warehouse_is_explained_in_chinese_down_to_its_values(client):
    """Its parameters too: a warehouse with no reserve type names the column to fill in (not the service's
    field ``reserve_type``), its other rows say it was refused, and one with no county says so, in Chinese;
    neither is said to be registered."""
    book = county_without_reserve_type()

    report = _report(client, book.data, book.name, "zh")

    said = [issue["message"] for kind in ("errors", "warnings") for issue in report[kind]]
    assert not [text for text in said if set(ENGLISH_WORD.findall(text)) - KEPT_WORDS], said
    errors = [issue["message"] for issue in report["errors"]]
    assert any("未填储备类型：请填写“储备类型”列" in text for text in errors), errors
    assert any("未能登记" in text for text in errors), errors
    assert any("没有填写所在区县" in text for text in errors), errors
    # Never registered: named by its name, not by a code generated for it, and no 'registered as' warnings.
    assert any(text.startswith("仓库 宾阳县新建储备点：未填储备类型") for text in errors), errors
    warnings = [issue["message"] for issue in report["warnings"]]
    assert not [text for text in warnings if "新建储备点" in text or "无县储备点" in text], warnings


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_what_a_service_says_of_a_column_is_in_one_language(client, lang):
    """A column given twice, and a latitude the warehouse service refuses (said as the service says it:
    ``_in_column_words`` once made it "纬度 must be between …", which no catalog entry matched)."""
    rows = [[*HEADER, "纬度", "经度", "数量"], [*ledger_row("W-1"), 200, 116.4, 1]]

    report = _report(client, sheet_of_rows(rows), "columns", lang)

    codes = {issue["code"] for kind in ("errors", "warnings") for issue in report[kind]}
    assert {"duplicate_column", "warehouse_row_error"} <= codes, report
    assert not _wrong_language(report, lang)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_what_the_file_hides_is_said_in_one_language(client, lang):
    """Hidden rows, a hidden sheet, and a formula without a saved value (openpyxl saves none)."""

    def build(book) -> None:
        sheet = book.active
        sheet.title = "台账"
        sheet.append(HEADER)
        for number in range(3):
            sheet.append(ledger_row("W-1", 批次=f"B{number}"))
        sheet.cell(row=3, column=HEADER.index("数量") + 1).value = "=2*3"
        sheet.row_dimensions[4].hidden = True
        old = book.create_sheet("旧台账")
        old.sheet_state = "hidden"
        old.append(HEADER)
        old.append(ledger_row("W-1", 批次="B9"))

    report = _report(client, xlsx(build), "marks", lang)

    codes = {issue["code"] for kind in ("errors", "warnings") for issue in report[kind]}
    assert {"hidden_rows_read", "hidden_sheet_read", "formula_without_value"} <= codes, report
    assert not _wrong_language(report, lang)
