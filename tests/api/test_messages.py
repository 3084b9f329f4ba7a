"""Server messages in the reader's language: every problem has a code, and nothing English leaks under zh-CN."""

from __future__ import annotations

import io
import re

import pytest
from babel.messages.pofile import read_po

from api.config import language_of
from api.messages import (
    CATALOG_PATH,
    NESTED_PARAMS,
    NUMBER_PARAMS,
    PLACEHOLDER,
    UNLISTED,
    MessageCatalog,
    catalog,
)
from tests.api.helpers import API, PROBLEM_JSON, item_payload, warehouse_payload

CJK = re.compile(r"[\u4e00-\u9fff]")
ZH = {"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.8"}
EN = {"Accept-Language": "en-GB,en;q=0.9"}


def english_leaks(body: dict) -> list[str]:
    """Texts a Chinese reader would get in English: a title, a detail or a field message without Chinese."""
    leaks = [body[key] for key in ("title", "detail") if key in body and not CJK.search(body[key])]
    if body.get("code") == UNLISTED:
        leaks.append(f"code {UNLISTED}: {body.get('detail')}")

    def walk(errors: dict, codes: dict) -> None:
        for key, value in errors.items():
            if isinstance(value, dict):
                walk(value, codes[key])
                continue
            for text, code in zip(value, codes[key], strict=True):
                if not CJK.search(text) or code["code"] == UNLISTED:
                    leaks.append(f"{key}: {text}")

    walk(body.get("errors") or {}, body.get("error_codes") or {})
    return leaks


def test_the_catalog_has_one_code_per_message_and_every_message_is_translated_with_its_placeholders():
    with CATALOG_PATH.open("rb") as handle:
        entries = [entry for entry in read_po(handle) if entry.id]
    codes = [entry.context for entry in entries]
    assert all(codes) and len(codes) == len(set(codes))
    assert all(re.fullmatch(r"[a-z][a-z0-9_]*", code) for code in codes)
    assert len({entry.id for entry in entries}) == len(entries)
    for entry in entries:
        assert CJK.search(entry.string), entry.id
        assert set(PLACEHOLDER.findall(entry.id)) == set(PLACEHOLDER.findall(entry.string)), entry.id
        # A template must say something besides its placeholders, or it would match any text.
        assert len(PLACEHOLDER.sub("", entry.id).strip(" :;,.")) >= 3, entry.id


def test_a_message_is_found_by_its_english_text_with_its_parameters_and_nested_messages():
    messages = MessageCatalog()
    found = messages.message("no warehouse with code 'WH-9'", "zh")
    assert (found.code, found.params, found.text) == ("no_warehouse", {"code": "'WH-9'"}, "没有编码为 'WH-9' 的仓库")
    nested = messages.message("warehouse W1: unknown region code '999999'", "zh")
    assert nested.code == "warehouse_row_error" and nested.text == "仓库 W1：未知行政区代码 '999999'"
    assert messages.message("Must be greater than or equal to 1.", "zh").text == "须大于等于 1。"
    assert messages.message("no warehouse with code 'WH-9'", "en").text == "no warehouse with code 'WH-9'"
    assert messages.message("something nobody wrote down", "zh").code == UNLISTED
    assert catalog() is catalog()


@pytest.mark.parametrize(
    ("tag", "lang"), [("zh-CN", "zh"), ("zh_CN", "zh"), ("zh-TW", "zh"), ("en-US", "en"), ("fr", "zh"), (None, "zh")]
)
def test_language_tags_choose_chinese_or_english(tag, lang):
    assert language_of(tag) == lang


def _error_paths(client, stocked_line):
    """(what, response) for error paths across the API: built-in, schema, domain, auth, database-free."""
    line = stocked_line(quantity=5)
    anonymous = client.application.test_client()
    yield "missing field", client.post(f"{API}/items", json={"code": "X1"}, headers=ZH)
    yield "pattern", client.post(f"{API}/warehouses", json=warehouse_payload(county_code="abc"), headers=ZH)
    yield "unknown field", client.post(f"{API}/items", json=item_payload("X2", colour="red"), headers=ZH)
    yield "not a number", client.get(f"{API}/nearest?lat=abc&lon=116&item=PD-001", headers=ZH)
    yield "range", client.get(f"{API}/nearest?lat=39.9&lon=116.4&item=PD-001&limit=0", headers=ZH)
    yield (
        "nested quantity",
        client.post(
            f"{API}/plans", json={"lat": 39.9, "lon": 116.4, "needs": [{"item": "PD-001", "quantity": -5}]}, headers=ZH
        ),
    )
    yield "not found", client.get(f"{API}/warehouses/NOPE", headers=ZH)
    yield "unknown item", client.get(f"{API}/nearest?lat=39.9&lon=116.4&item=活性碳xyz", headers=ZH)
    yield "insufficient", client.post(f"{API}/stock-lines/{line.id}/issues", json={"quantity": 50}, headers=ZH)
    yield "conflict", client.post(f"{API}/warehouses", json=warehouse_payload(line.warehouse.code), headers=ZH)
    yield "no route", client.get(f"{API}/no-such-thing", headers=ZH)
    yield "method", client.delete(f"{API}/regions", headers=ZH)
    yield "anonymous", anonymous.get(f"{API}/warehouses", headers=ZH)
    yield "bad bearer", anonymous.get(f"{API}/warehouses", headers={**ZH, "Authorization": "Basic x"})
    yield "wrong token", anonymous.get(f"{API}/warehouses", headers={**ZH, "Authorization": "Bearer nope"})
    yield "wrong password", anonymous.post(f"{API}/auth/login", json={"username": "x", "password": "y"}, headers=ZH)
    yield "bad json", client.post(f"{API}/items", data="{", content_type="application/json", headers=ZH)
    yield "control character", client.get(f"{API}/warehouses?q=a%01b", headers=ZH)
    yield "text-direction control", client.post(f"{API}/items", json={"code": "X2", "name": "a\u2066b"}, headers=ZH)
    yield "ambiguous county", client.get(f"{API}/nearest?county=朝阳区&item=PD-001", headers=ZH)
    yield "date", client.get(f"{API}/stock-lines/{line.id}?as_of=yesterday", headers=ZH)
    # A download asked for past its end (werkzeug's 416 was English, code "unlisted")
    yield "byte range", client.get(f"{API}/imports/template.xlsx", headers={**ZH, "Range": "bytes=99999999-"})


def test_every_error_path_answers_in_chinese_with_a_code_under_zh_cn(client, stocked_line):
    leaks = {}
    for what, response in _error_paths(client, stocked_line):
        assert response.status_code >= 400 and response.mimetype == PROBLEM_JSON, what
        body = response.get_json()
        assert body["code"] and isinstance(body["params"], dict), what
        if found := english_leaks(body):
            leaks[what] = found
    assert not leaks


def test_field_errors_keep_their_place_and_carry_codes(client):
    body = client.post(
        f"{API}/plans", json={"lat": 39.9, "lon": 116.4, "needs": [{"item": "PD-001", "quantity": -5}]}, headers=ZH
    ).get_json()
    assert body["code"] == "field_errors"
    assert body["errors"] == {"needs": {"0": {"quantity": ["须大于零"]}}}
    assert body["error_codes"]["needs"]["0"]["quantity"] == [{"code": "must_be_positive", "params": {}}]
    assert body["detail"] == "needs.0.quantity: 须大于零"
    missing = client.post(f"{API}/items", json={"code": "X1"}, headers=ZH).get_json()
    assert missing["errors"]["name"] == ["缺少必填字段。"] and missing["title"] == "输入有误"


def test_english_when_asked_and_chinese_without_a_header(app, client):
    english = client.get(f"{API}/warehouses/NOPE", headers=EN).get_json()
    assert english == {
        **english,
        "title": "Not found",
        "detail": "no warehouse with code 'NOPE'",
        "code": "no_warehouse",
        "params": {"code": "'NOPE'"},
    }
    app.config["DEFAULT_LANGUAGE"] = "zh-CN"  # the shipped default (tests otherwise read English)
    chinese = client.get(f"{API}/warehouses/NOPE").get_json()
    assert (chinese["title"], chinese["detail"], chinese["code"]) == (
        "未找到",
        "没有编码为 'NOPE' 的仓库",
        "no_warehouse",
    )
    assert (
        client.get(f"{API}/warehouses/NOPE", headers={"Accept-Language": "en;q=0.5, zh;q=0.9"}).get_json()["detail"]
        == chinese["detail"]
    )


def test_import_report_messages_follow_the_language_and_lang_en_keeps_english(client):
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["仓库编码", "物资名称", "数量"])
    sheet.append(["NOWHERE-1", "完全不存在的物资", -3])
    data = io.BytesIO()
    book.save(data)

    def upload(query: str = "", headers=None):
        files = {"file": (io.BytesIO(data.getvalue()), "台账.xlsx")}
        return client.post(f"{API}/imports{query}", data=files, content_type="multipart/form-data", headers=headers)

    chinese = upload("?dry_run=true", ZH).get_json()
    assert chinese["code"] == "invalid_ledger" and CJK.search(chinese["detail"])
    assert not english_leaks(chinese)
    issues = chinese["report"]["errors"]
    assert issues and all(CJK.search(issue["message"]) and issue["code"] != UNLISTED for issue in issues)
    english = upload("?dry_run=true&lang=en", ZH).get_json()  # lang= wins over Accept-Language
    assert english["detail"].startswith("台账.xlsx: checked; 1 rows")
    assert [issue["code"] for issue in english["report"]["errors"]] == [issue["code"] for issue in issues]
    assert all(re.match(r"[a-z]", issue["message"]) for issue in english["report"]["errors"])


def test_a_row_number_is_digits_so_a_sheet_name_with_the_same_words_stays_whole():
    """``{row}`` matches a number only: a sheet named "Q1 row 5" is the sheet, not half a row number."""
    assert catalog().translate("IMPORT-3 sheet Q1 row 5 row 2", "zh") == "IMPORT-3 Q1 row 5 第2行"
    assert catalog().translate("sheet 台账 row 12", "zh") == "台账 第12行"


def test_a_wrapped_message_that_starts_with_a_placeholder_is_read_inside_its_wrapper():
    """The import report said "warehouse WH7: demo-provincial 无权管理省份 120000 的仓库": the inner template, longer
    in literal text, won and its ``{username}`` took "warehouse WH7: demo-provincial" (code and params wrong too)."""
    found = catalog().message("warehouse WH7: demo-provincial may not manage warehouses in province 120000", "zh")
    assert found.code == "warehouse_row_error" and found.params["label"] == "WH7"
    assert found.text == "仓库 WH7：demo-provincial 无权管理省份 120000 的仓库"
    # every template, filled in, is still read back as itself
    for template in catalog().templates:
        text = PLACEHOLDER.sub(lambda match: "7" if match.group(1) in ("row", "import_id") else "X", template.english)
        assert catalog().message(text, "en").code == template.code, template.english


# A message that starts with a placeholder, as a wrapper's {message} often holds (4939ca7)
INNER = "demo-provincial may not manage warehouses in province 120000"


@pytest.mark.parametrize("value", ["X", "'活性炭 A'", "北京: 仓库 1", "demo-provincial"])
def test_every_template_filled_in_as_services_fill_it_reads_back_as_itself_and_english_is_unchanged(value):
    """A quoted name ({text!r}), Chinese, a value holding ': ', a nested message starting with a placeholder:
    the message is read as the template it was made from, and its English answer is the text itself."""

    def filled(match: re.Match) -> str:
        name = match.group(1)
        return "7" if name in NUMBER_PARAMS else INNER if name in NESTED_PARAMS else value

    for template in catalog().templates:
        text = PLACEHOLDER.sub(filled, template.english)
        found = catalog().message(text, "en")
        assert (found.code, found.text) == (template.code, text), template.english


def test_a_chinese_message_names_a_vocabulary_code_and_a_missing_batch_in_chinese(client, stocked_line):
    """A Chinese reader once got "440300 已有 pollutant_degradation 的定额", "“政府”已表示储备类型 government",
    "请先设置 email 地址" and "活性炭 批次 (none) 已在…计入": a parameter is shown as written, so a code of a
    closed vocabulary or an English "(none)" stayed English in the sentence."""
    from openpyxl import Workbook

    quota = {"region": "440300", "category": "pollutant_degradation", "minimum": 50}
    assert client.post(f"{API}/quotas", json=quota).status_code == 201
    again = client.post(f"{API}/quotas", json=quota, headers=ZH).get_json()
    assert again["code"] == "quota_exists" and again["params"]["material"] == "pollutant_degradation"
    assert "已有 污染物降解 的定额" in again["detail"] and "pollutant" not in again["detail"]
    word = client.post(f"{API}/reserve-type-words", json={"word": "政府", "reserve_type": "enterprise"}, headers=ZH)
    assert word.get_json()["detail"] == "“政府”已表示储备类型 政府储备"
    channel = {"subscriptions": {"callup_line_waiting": ["email"]}}
    unset = client.put(f"{API}/notifications/settings", json=channel, headers=ZH).get_json()
    assert unset["errors"]["subscriptions"] == ["请先设置 电子邮件 地址，再订阅该渠道"]
    english = client.post(f"{API}/quotas", json=quota, headers=EN).get_json()
    assert "already has a quota for pollutant_degradation" in english["detail"]

    line = stocked_line()
    book = Workbook()
    sheet = book.active
    sheet.append(["仓库编码", "物资编码", "数量"])
    sheet.append([line.warehouse.code, line.item.code, 3])
    sheet.append([line.warehouse.code, line.item.code, 4])
    data = io.BytesIO()
    book.save(data)
    files = {"file": (io.BytesIO(data.getvalue()), "台账.xlsx")}
    report = client.post(
        f"{API}/imports?dry_run=true", data=files, content_type="multipart/form-data", headers=ZH
    ).get_json()["report"]
    [twice] = [issue for issue in report["errors"] if issue["code"] == "unbatched_already_counted"]
    assert "（无批次）已在" in twice["message"] and "none" not in twice["message"]


@pytest.mark.parametrize(
    ("stored", "chinese"),
    [
        ("台账导入 ledger import 横州 台账.xlsx", "台账导入 横州 台账.xlsx"),
        ("导入复核更正 import review: X-1 is PD-001", "导入复核更正：X-1 即 PD-001"),
        ("call-up CU-20240501-00002: 急用; 快送", "调用单 CU-20240501-00002：急用; 快送"),
        ("call-up CU-20240501-123456", "调用单 CU-20240501-123456"),
        ("shipment SH-20240501-00007 to 110101-001", "发运单 SH-20240501-00007 发往 110101-001"),
        ("shipment SH-20240501-00007, ledger entry 1309", "发运单 SH-20240501-00007，台账记录 1309"),
        ("allow_expired: batch expired 2020-01-01: 急用", "过期批次仍出库（2020-01-01 到期）：急用"),
        # a dispatch of an expired batch: the call-up's reason holds the issue's own
        (
            "call-up CU-20240501-00002: allow_expired: batch expired 2020-01-01: 急用",
            "调用单 CU-20240501-00002：过期批次仍出库（2020-01-01 到期）：急用",
        ),
        ("PD-001 short by 20; PD-002 short by 1.5", "PD-001 缺 20；PD-002 缺 1.5"),
        ("short 2.000; damaged 1.000: 路上颠簸", "短少 2；损坏 1：路上颠簸"),
        # a person's words, whatever they look like, as written: a code or a date only in the shape the server
        # writes it ("call-up tomorrow: …" was said as "调用单 tomorrow：…")
        ("call-up tomorrow: bring gloves", "call-up tomorrow: bring gloves"),
        ("call-up urgent", "call-up urgent"),
        ("call-up CU-2: 急用", "call-up CU-2: 急用"),
        ("shipment tents to Beijing", "shipment tents to Beijing"),
        ("shipment tomorrow received", "shipment tomorrow received"),
        ("shipment SH-20240501-00007 to 东城库", "shipment SH-20240501-00007 to 东城库"),
        ("allow_expired: batch expired yesterday: 急用", "allow_expired: batch expired yesterday: 急用"),
        ("gloves! short by 5", "gloves! short by 5"),
        ("damaged in flood", "damaged in flood"),
        ("shipment of tents received", "shipment of tents received"),
        ("no warehouse with code 'W'", "no warehouse with code 'W'"),
    ],
)
def test_a_stored_text_the_server_wrote_is_read_in_chinese_and_a_persons_words_stay(stored, chinese):
    assert catalog().system_text(stored, "zh") == chinese
    assert catalog().system_text(stored, "en") == stored


def test_a_message_names_a_value_only_as_one_of_its_parameters():
    """The import report leaves a cell's value out beside a message that names it (``value_named``); it compared
    text, so "1" vanished beside any message with a 1 in it."""
    differs = "differs from '张12' given for this warehouse in 县表 row 2: the first value is kept"
    assert catalog().names_value(differs, "张12")
    assert not catalog().names_value(differs, "1")  # inside another value's words
    assert not catalog().names_value(differs, "2")  # a row number is a place, never the value
    county = "county code 110101 is 东城区, not '海淀'; the code was used"
    assert catalog().names_value(county, "海淀")  # quoted by the template (repr)
    assert not catalog().names_value(county, "海")
    assert catalog().names_value("quantity '12' is approximate: imported as 12", 12)  # a number read from the cell
    assert not catalog().names_value("no such message 5", 5)  # a text the catalog does not know names nothing
