"""The vocabulary endpoints: reserve-type words staff add, pack factors, item suggestions, the review list."""

from __future__ import annotations

import io

from tests.api.helpers import assert_problem
from tests.importers.conftest import sheet_of_rows


def test_staff_add_a_reserve_type_word_and_it_is_listed(client, client_for):
    added = client.post("/api/v1/reserve-type-words", json={"word": "应急联储", "reserve_type": "third_party"})
    assert added.status_code == 201, added.json
    listed = {entry["word"]: entry for entry in client.get("/api/v1/reserve-type-words").json}
    assert listed["应急联储"] == {"word": "应急联储", "reserve_type": "third_party", "added_by": "admin"}
    assert listed["代储"]["added_by"] is None  # shipped

    assert_problem(client.post("/api/v1/reserve-type-words", json={"word": "代储", "reserve_type": "government"}), 409)
    assert_problem(client.post("/api/v1/reserve-type-words", json={"word": "x", "reserve_type": "nope"}), 422)
    viewer = client_for("viewer")
    assert_problem(viewer.post("/api/v1/reserve-type-words", json={"word": "y", "reserve_type": "government"}), 403)
    assert client.delete("/api/v1/reserve-type-words/应急联储").status_code == 204
    assert_problem(client.delete("/api/v1/reserve-type-words/应急联储"), 404)


def test_item_suggestions_say_how_they_matched(client):
    found = client.get("/api/v1/item-suggestions", query_string={"q": "hxt"}).json
    assert found[0]["code"] == "PD-001" and found[0]["how"] == "pinyin" and 0 < found[0]["score"] <= 1
    assert client.get("/api/v1/item-suggestions", query_string={"q": "活性碳"}).json[0]["how"] == "alias"
    assert client.get("/api/v1/item-suggestions", query_string={"q": "不存在的东西"}).json == []
    assert_problem(client.get("/api/v1/item-suggestions"), 422)


def test_a_pack_factor_is_set_and_refused_when_the_units_already_convert(client):
    response = client.post("/api/v1/items/PL-001/pack-factors", json={"unit": "包", "factor": 10})
    assert response.status_code == 201, response.json
    assert response.json == {"item_code": "PL-001", "unit": "包", "factor": 10, "variant_code": None, "lines_moved": 0}
    assert_problem(client.post("/api/v1/items/PL-001/pack-factors", json={"unit": "包", "factor": 12}), 409)
    assert_problem(client.post("/api/v1/items/PD-001/pack-factors", json={"unit": "千克", "factor": 1}), 422, "unit")
    assert_problem(client.post("/api/v1/items/NO-SUCH/pack-factors", json={"unit": "包", "factor": 1}), 404)
    assert client.get("/api/v1/catalogue-reviews").json == []


def test_the_cli_adds_words_and_sets_factors(app):
    runner = app.test_cli_runner()
    added = runner.invoke(args=["vocabulary", "add-reserve-word", "联储", "third_party"])
    assert added.exit_code == 0, added.output
    listed = runner.invoke(args=["vocabulary", "reserve-words"])
    assert "联储\tthird_party\tsystem" in listed.output
    factor = runner.invoke(args=["vocabulary", "set-factor", "PL-001", "箱", "200"])
    assert factor.exit_code == 0 and "PL-001: 1 箱 = 200" in factor.output
    refused = runner.invoke(args=["vocabulary", "set-factor", "PL-001", "箱", "100"])
    assert refused.exit_code != 0 and "already has a factor for '箱'" in refused.output  # the CLI speaks English
    assert runner.invoke(args=["vocabulary", "review"]).exit_code == 0


def test_the_catalogue_reviews_are_the_imports_open_item_entries_once_per_item(client):
    """One review store: /catalogue-reviews lists the new-item and unit-variant entries of the imports' review
    lists, once per item, each naming the import entry that settles it."""
    rows = [["仓库编码", "仓库名称", "储备类型", "区县代码", "物资名称", "物资类别", "计量单位", "数量", "批次"]]
    rows.append(["W-1", "库", "政府", "110101", "新型吸附棉", "", "卷", 2, "a"])  # category inferred
    rows.append(["W-1", None, None, None, "吸油毡", "", "包", 3, "b"])  # 包 converts to nothing: a unit variant
    imports = []
    for name in ("一.xlsx", "二.xlsx"):
        upload = {"file": (io.BytesIO(sheet_of_rows(rows)), name)}
        report = client.post("/api/v1/imports", data=upload, content_type="multipart/form-data").get_json()
        assert report["status"] == "imported", report
        imports.append(report["import_id"])

    listed = client.get("/api/v1/catalogue-reviews").json

    assert [(entry["reason"], entry["import_id"]) for entry in listed] == [
        ("new_item", imports[0]),
        ("unit_variant", imports[0]),
    ]
    assert listed[0]["item_name"] == "新型吸附棉" and listed[0]["reference"] == f"IMPORT-{imports[0]} sheet 台账 row 2"
    chinese = client.get("/api/v1/catalogue-reviews", headers={"Accept-Language": "zh-CN"}).json
    assert chinese[0]["reference"] == f"IMPORT-{imports[0]} 台账 第2行"  # the reader's language, as the detail
    review = client.get(f"/api/v1/imports/{imports[0]}/review").json
    assert [entry["id"] for entry in review["new_item"]] == [listed[0]["entry_id"]]
    later = client.get(f"/api/v1/imports/{imports[1]}/review").json
    assert later["new_item"] == later["unit_variant"] == []  # the second import found both: nothing new

    confirmed = client.post(f"/api/v1/imports/{imports[0]}/review/{listed[1]['entry_id']}/confirm")

    assert confirmed.status_code == 200, confirmed.json
    assert [entry["reason"] for entry in client.get("/api/v1/catalogue-reviews").json] == ["new_item"]
    [settled] = client.get(f"/api/v1/imports/{imports[0]}/review").json["unit_variant"]
    assert (settled["status"], settled["resolved_by"]) == ("confirmed", "admin")
