"""Field ledgers, structure: warehouses without codes, enterprise forms, unknown headers mapped and remembered."""

from __future__ import annotations

import io
import json
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from api.extensions import db
from importers.ledger import import_ledger
from inventory.errors import ValidationFailed
from inventory.import_review import confirm_review, correct_review, review_list
from inventory.models import ImportProfile, Item, Movement, StockLine, Warehouse
from inventory.regions import region_names
from inventory.registration import warehouse_name_key
from inventory.stock import ledger_mismatches
from tests.importers.conftest import in_chinese, sheet_of_rows, xlsx
from tests.importers.field_corpus import code_on_one_row_name_on_another
from tests.unit.racing import run_at_once

NAME_ONLY = ["仓库名称", "所在区县", "储备类型", "物资名称", "计量单位", "数量"]


def warehouses(session) -> list[tuple[str, str, str]]:
    return list(session.execute(select(Warehouse.code, Warehouse.name, Warehouse.county_code).order_by(Warehouse.code)))


@pytest.mark.parametrize(
    ("written", "same_as"),
    [
        ("东城区（１号）应急物资储备库", "东城区(1号)仓库"),
        ("东城区 1号 储备点", "东城区1号库"),
        ("ＡＢＣ储备仓库", "abc"),
    ],
)
def test_a_warehouse_name_is_compared_without_width_spaces_brackets_or_suffix(written, same_as):
    assert warehouse_name_key(written) == warehouse_name_key(same_as)


def test_different_warehouses_keep_different_keys():
    assert warehouse_name_key("东城区一号库") != warehouse_name_key("东城区二号库")


def test_a_county_is_read_from_an_address_in_order_and_else_from_coordinates(session):
    places = region_names(session)
    assert places.county_in_address("江苏省南京市江宁区秣陵街道1号") == "320115"
    assert places.county_in_address("南京市玄武区龙蟠路2号") == "320102"
    assert places.county_in_address("北京市东城区东直门") == "110101"
    assert places.county_in_address("码头东侧仓库") == ""
    assert places.nearest_county(39.93, 116.42) == "110101"


def test_warehouses_without_codes_get_county_sequence_codes_and_are_found_again(session, run_import):
    data = sheet_of_rows(
        [
            NAME_ONLY,
            ["东城区应急物资储备库", "东城区", "政府储备", "活性炭", "吨", 1],
            ["东城区二号库", "东城区", "政府储备", "活性炭", "吨", 2],
            ["东城区 应急物资仓库", "东城区", "政府储备", "生石灰", "吨", 3],
        ]
    )

    report = run_import(data)

    assert report.status == "imported", report.errors
    assert warehouses(session) == [
        ("110101-001", "东城区应急物资储备库", "110101"),
        ("110101-002", "东城区二号库", "110101"),
    ]
    assert sum("已登记为 110101-001" in in_chinese(warning.message) for warning in report.warnings) == 1
    again = run_import(data)
    assert again.counts["warehouses_created"] == 0
    assert warehouses(session)[0][1] == "东城区应急物资储备库"  # a variant spelling renames nothing
    more = run_import(sheet_of_rows([NAME_ONLY, ["东城区三号库", "东城区", "政府储备", "活性炭", "吨", 1]]))
    assert more.status == "imported" and warehouses(session)[-1][0] == "110101-003"


def test_the_same_name_in_another_county_is_another_warehouse(session, run_import):
    rows = [NAME_ONLY, ["应急储备库", "东城区", "政府储备", "活性炭", "吨", 1]]
    rows.append(["应急储备库", "海淀区", "政府储备", "活性炭", "吨", 1])

    run_import(sheet_of_rows(rows))

    assert [county for _code, _name, county in warehouses(session)] == ["110101", "110108"]


def test_a_warehouse_given_by_name_on_some_rows_and_by_code_on_another_is_one_warehouse(session, run_import):

    book = code_on_one_row_name_on_another()  # 一月: name and county only; 二月: the code, then the name again

    report = run_import(book.data, skip_invalid=True)

    assert report.status == "imported" and report.counts["warehouses_created"] == 1
    assert warehouses(session) == [("DC-001", "东城区应急物资储备仓库", "110101")]  # as the coded row names it
    [registered] = review_list(session, "tester", report.import_id)["new_warehouse"]
    assert registered.subject == "DC-001" and "the code in the file" in registered.detail
    assert json.loads(registered.rows) == [["一月", 2], ["二月", 2], ["二月", 3]]
    assert not any("110101-" in warning.message for warning in report.warnings)  # no code was made for it

    # Known by its code in the database: a ledger naming it by name and county only finds it.
    later = run_import(sheet_of_rows([NAME_ONLY, ["东城区应急物资仓库", "东城区", "政府储备", "潜水泵", "台", 1]]))
    assert later.status == "imported" and later.counts["warehouses_created"] == 0
    assert [code for code, _name, _county in warehouses(session)] == ["DC-001"]


def test_a_bad_row_rejects_only_itself_and_differing_details_only_warn(session, run_import):
    header = [*NAME_ONLY, "联系电话"]
    data = sheet_of_rows(
        [
            header,
            ["海淀区储备库", "海淀区", "政府储备", "活性炭", "吨", 1, "111"],
            ["海淀区储备库", "海淀区", "不知道", "生石灰", "吨", 2, "111"],
            ["海淀区储备库", "海淀区", "政府储备", "沙袋", "袋", 3, "222"],
        ]
    )

    report = run_import(data, skip_invalid=True)

    assert [(issue.row, issue.column) for issue in report.errors] == [(3, "储备类型")]
    assert [(w.row, w.column) for w in report.warnings if "不同" in in_chinese(w.message)] == [(4, "联系电话")]
    assert session.scalar(select(func.count()).select_from(StockLine)) == 2
    assert session.scalar(select(Warehouse.contact_phone)) == "111"


def enterprise(book) -> None:
    sheet = book.active
    sheet.title = "厂区"
    sheet.append(["某公司环境应急资源调查表"])
    sheet.append(["单位名称", "某化工公司", None, "储备类型", "企业"])
    sheet.append(["地址：江苏省南京市江宁区东山街道8号"])
    sheet.append(["联系人", "王工", None, "联系电话", "025-1"])
    sheet.append(["物资名称", "规格型号", "单位", "数量"])
    sheet.append(["活性炭", "", "吨", 2])
    sheet.append(["吸油毡", "", "张", 30])


def test_an_enterprise_form_above_the_table_applies_to_every_row(session, run_import):
    report = run_import(xlsx(enterprise))

    assert report.status == "imported", report.errors
    warehouse = session.scalar(select(Warehouse))
    assert (warehouse.name, warehouse.county_code, warehouse.reserve_type.value) == (
        "某化工公司",
        "320115",
        "enterprise",
    )
    assert (warehouse.contact_person, warehouse.contact_phone) == ("王工", "025-1")
    assert session.scalar(select(func.count()).select_from(StockLine)) == 2
    assert any("适用于下面每一行" in in_chinese(note.message) for note in report.notes)


def test_totals_notes_and_blank_rows_below_the_data_are_noted_not_imported(session, run_import):
    rows = [
        NAME_ONLY,
        ["东城区储备库", "东城区", "政府储备", "活性炭", "吨", 1],
        [],
        ["合计", None, None, None, None, 1],
    ]
    rows.append(["注：以盘点为准"])

    report = run_import(sheet_of_rows(rows))

    assert report.status == "imported" and report.rows == 1
    assert [note.row for note in report.notes if note.row] == [4, 5]


def test_an_item_named_with_a_note_s_word_is_stock_where_a_label_in_its_column_is_a_note(session, run_import):
    """手机, 电话机, 注射器 start like a sign-off's 手机：/电话：/注： and, under a warehouse merged down, fill two
    cells as a note does: in the item column they are items, counted; written as a label there, a note."""
    rows = [
        [*NAME_ONLY[:4], "数量"],
        ["东城区储备库", "东城区", "政府储备", "活性炭", "1吨"],
        ["", "", "", "手机", "3部"],
        ["", "", "", "电话机", "2台"],
        ["", "", "", "注射器", "20个"],
        ["", "", "", "联系电话：0771-5551234"],
        ["注：以盘点为准", "", "", "", "填表人：张三"],
        ["", "", "", "手机 13800000000", "盖章"],
    ]

    report = run_import(sheet_of_rows(rows))

    assert report.status == "imported" and report.rows == 4, report.errors
    held = dict(
        session.execute(select(Item.name, StockLine.quantity).join(StockLine, StockLine.item_id == Item.id)).all()
    )
    assert held == {"活性炭": 1, "手机": 3, "电话机": 2, "注射器": 20}
    assert [note.row for note in report.notes if note.row] == [6, 7, 8]


UNFORESEEN = ["存放库名", "区县", "储备类型", "品名", "计量单位", "库存量", "负责领导"]


def unforeseen_rows() -> list[list]:
    return [UNFORESEEN, ["东城区储备库", "东城区", "政府储备", "活性炭", "吨", 4, "赵"]]


def test_unknown_headers_are_reported_with_the_closest_field(session, run_import):
    report = run_import(sheet_of_rows([["仓库名称", "所在区县", "储备类型", "物资名称", "单位", "数量", "数 量 单位"]]))

    [unknown] = [warning for warning in report.warnings if warning.column == "数 量 单位"]
    assert unknown.suggestion in {"quantity", "unit"}
    assert "最接近的已知列" in in_chinese(unknown.message)


def test_a_directory_of_warehouses_with_a_column_of_what_they_hold_is_still_a_directory(session, run_import):
    """A warehouse directory (no unit, batch or dates) with a column naming what each holds registers its
    warehouses, as before; the column is warned about: its items are not counted."""
    rows = [
        ["仓库名称", "所在区县", "储备类型", "联系人", "联系电话", "物资"],
        ["东城区储备库", "东城区", "政府", "王伟", "010-1", "活性炭、生石灰"],
    ]

    report = run_import(sheet_of_rows(rows))

    assert report.status == "imported", report.errors
    assert session.scalar(select(Warehouse.name)) == "东城区储备库"
    assert session.scalar(select(func.count()).select_from(StockLine)) == 0
    [warning] = [w for w in report.warnings if w.row == 1 and "items" in w.message]
    assert "不计入库存" in in_chinese(warning.message)


def test_a_sheet_of_items_whose_quantity_header_is_unknown_is_refused_not_read_as_a_warehouse_list(session, run_import):
    """盘点结果 is no quantity header the importer knows: the sheet is refused saying so (before, it was read as
    a warehouse registry: the warehouse registered, every item and count dropped, the import 'clean')."""
    rows = [
        ["仓库名称", "所在区县", "储备类型", "物资名称", "计量单位", "盘点结果"],
        ["东城区储备库", "东城区", "政府", "活性炭", "吨", 5],
    ]

    report = run_import(sheet_of_rows(rows))

    assert report.status == "rejected"
    assert [(error.sheet, error.row) for error in report.errors] == [("台账", 1)]
    assert "没有数量列" in in_chinese(report.errors[0].message)
    assert session.scalar(select(func.count()).select_from(Warehouse)) == 0
    mapped = run_import(sheet_of_rows(rows), column_map={"盘点结果": "quantity"})
    assert mapped.status == "imported", mapped.errors
    assert session.scalar(select(StockLine.quantity)) == 5
    unplaced = run_import(sheet_of_rows([["物资名称", "单位", "数量"], ["活性炭", "吨", 2]]))
    assert [in_chinese(error.message) for error in unplaced.errors] == [
        "此工作表没有仓库列（仓库编码或仓库名称）：其库存无法归入仓库"
    ]
    # a 存放地点 is the warehouse there (test_field_gaps): without a county it cannot be registered, and says so
    placed = run_import(sheet_of_rows([["存放地点", "物资名称", "单位", "数量"], ["三塘镇仓库", "活性炭", "吨", 2]]))
    assert [in_chinese(error.message) for error in placed.errors] == [
        "仓库 三塘镇仓库：尚未登记，也没有填写所在区县：请填写所在区县或仓库编码"
    ]


def test_a_mapping_imports_unforeseen_columns_and_a_saved_profile_applies_by_itself(session, run_import):
    data = sheet_of_rows(unforeseen_rows())
    mapping = {"存放库名": "warehouse_name", "品名": "item_name", "库存量": "quantity", "负责领导": "ignore"}

    mapped = run_import(data, column_map=mapping, profile="某县台账")

    assert mapped.status == "imported", mapped.errors
    assert mapped.profile_saved == "某县台账"
    assert not [w for w in mapped.warnings if w.column in mapping]
    assert session.scalar(select(StockLine.quantity)) == 4
    changed = sheet_of_rows([UNFORESEEN, ["东城区储备库", "东城区", "政府储备", "活性炭", "吨", 6, "钱"]])
    again = run_import(changed)  # no mapping given: the profile made for these headers applies
    assert again.status == "imported", again.errors
    assert again.sheets[0]["profile"] == "某县台账"
    assert session.scalar(select(StockLine.quantity)) == 6


def test_a_mapping_to_no_field_or_an_unknown_profile_is_refused(session):
    data = sheet_of_rows(unforeseen_rows())
    with pytest.raises(ValidationFailed) as refused:
        import_ledger(session, data, file_name="a.xlsx", actor="tester", column_map={"品名": "colour"})
    assert refused.value.field == "map"
    with pytest.raises(ValidationFailed) as unknown:
        import_ledger(session, data, file_name="a.xlsx", actor="tester", profile="nobody")
    assert unknown.value.field == "profile"


def test_cli_map_and_profile(app, session, tmp_path):
    path = tmp_path / "县台账.xlsx"
    path.write_bytes(sheet_of_rows(unforeseen_rows()))
    maps = ["--map", "存放库名=warehouse_name", "--map", "品名=item_name", "--map", "库存量=quantity"]

    result = app.test_cli_runner().invoke(args=["import-ledger", str(path), *maps, "--profile", "县表"])

    assert result.exit_code == 0, result.output
    assert session.scalar(select(ImportProfile.name)) == "县表"
    reused = app.test_cli_runner().invoke(args=["import-ledger", str(path), "--profile", "县表", "--json"])
    assert json.loads(reused.output)["status"] == "imported"
    bad = app.test_cli_runner().invoke(args=["import-ledger", str(path), "--map", "no-equals-sign"])
    assert bad.exit_code == 2 and "HEADER=FIELD" in bad.output


def test_profiles_over_http(client):
    saved = client.post("/api/v1/import-profiles", json={"name": "甲县", "mapping": {"品名": "item_name"}})
    assert saved.status_code == 201, saved.get_json()
    assert client.get("/api/v1/import-profiles").get_json()[0]["mapping"] == {"品名": "item_name"}
    refused = client.post("/api/v1/import-profiles", json={"name": "乙县", "mapping": {"品名": "colour"}})
    assert refused.status_code == 422 and "map" in json.dumps(refused.get_json())


def test_two_imports_of_one_new_warehouse_at_once_register_it_once(app, db_kind):
    if db_kind != "postgresql":
        pytest.skip("SQLite has one writer: the race exists on PostgreSQL only")
    data = sheet_of_rows([NAME_ONLY, ["大兴区储备库", "大兴区", "政府储备", "活性炭", "吨", 1]])

    outcomes = run_at_once(
        app, [lambda: import_ledger(db.session, data, file_name="a.xlsx", actor="tester") for _ in range(2)]
    )

    assert outcomes == ["done", "done"]
    with app.app_context():
        assert warehouses(db.session) == [("110115-001", "大兴区储备库", "110115")]


def test_corrections_and_confirmations_of_one_review_entry_at_once_settle_it_once(app, db_kind, make_warehouse):
    """Two provincial officers settling the same "new warehouse" entry at once (PostgreSQL, real threads and
    connections): exactly one decision wins, the others are refused, and the stock moved at most once."""
    if db_kind != "postgresql":
        pytest.skip("SQLite has one writer: the race exists on PostgreSQL only")
    with app.app_context():
        make_warehouse("W-REAL", county_code="110101")
        data = sheet_of_rows([NAME_ONLY, ["东城新库", "东城区", "政府储备", "活性炭", "吨", 5]])
        report = import_ledger(db.session, data, file_name="a.xlsx", actor="tester")
        db.session.commit()
        [entry] = review_list(db.session, "tester", report.import_id)["new_warehouse"]
        import_id, entry_id = report.import_id, entry.id
        movements_before = db.session.scalar(select(func.count()).select_from(Movement))
        db.session.remove()

    def correct() -> None:
        correct_review(db.session, "tester", import_id, entry_id, "W-REAL")

    def confirm() -> None:
        confirm_review(db.session, "tester", import_id, entry_id)

    outcomes = run_at_once(app, [correct] * 4 + [confirm] * 2)

    assert outcomes.count("done") == 1, outcomes
    assert all(o == "done" or "already settled" in o for o in outcomes), outcomes
    with app.app_context():
        held = dict(db.session.execute(select(Warehouse.code, func.sum(StockLine.quantity)).join(StockLine.warehouse)
                                       .group_by(Warehouse.code)).all())  # fmt: skip
        moved = db.session.scalar(select(func.count()).select_from(Movement)) - movements_before
        if outcomes.index("done") < 4:  # a correction won: the 5 t moved once, by a transfer out and in
            assert (held.get("W-REAL"), held.get("110101-001"), moved) == (Decimal(5), Decimal(0), 2)
        else:
            assert (held.get("W-REAL"), held.get("110101-001"), moved) == (None, Decimal(5), 0)
        assert ledger_mismatches(db.session) == []


def test_the_review_list_groups_what_the_import_decided_and_a_correction_moves_stock_by_movements(
    session, client, make_warehouse
):
    existing = make_warehouse("W-REAL", county_code="110101")
    rows = [[*NAME_ONLY, "联系电话", "物资类别"]]
    rows.append(["东城新库", "东城区", "政府储备", "活性炭", "吨", 5, "111", ""])
    rows.append(["东城新库", "东城区", "政府储备", "新型吸附剂", "千克", 2, "222", "污染物收集"])
    upload = {"file": (io.BytesIO(sheet_of_rows(rows)), "县台账.xlsx")}

    report = client.post("/api/v1/imports", data=upload, content_type="multipart/form-data").get_json()

    assert report["status"] == "imported", report
    review = client.get(f"/api/v1/imports/{report['import_id']}/review").get_json()
    [new_warehouse] = review["new_warehouse"]
    assert (new_warehouse["subject"], new_warehouse["rows"]) == ("110101-001", [["台账", 2], ["台账", 3]])
    [conflict] = review["detail_conflict"]
    # The detail comes in the request's language (the tests' default is English); the catalog has the Chinese.
    assert conflict["rows"] == [["台账", 3]] and "'111' kept" in conflict["detail"]
    assert "采用“111”" in in_chinese(conflict["detail"])
    added = session.scalar(select(Item.code).where(Item.name == "新型吸附剂"))
    assert [entry["subject"] for entry in review["new_item"]] == [added]
    base = f"/api/v1/imports/{report['import_id']}/review"
    movements_before = session.scalar(select(func.count()).select_from(Movement))

    corrected = client.post(f"{base}/{new_warehouse['id']}/correct", json={"code": "W-REAL"})

    assert corrected.status_code == 200, corrected.get_json()
    assert corrected.get_json()["status"] == "corrected"
    held = session.execute(select(Warehouse.code, StockLine.quantity).join(StockLine.warehouse)).all()
    assert sorted(quantity for code, quantity in held if code == "W-REAL") == [Decimal(2), Decimal(5)]
    assert all(quantity == 0 for code, quantity in held if code == "110101-001")
    assert session.scalar(select(func.count()).select_from(Movement)) == movements_before + 4  # two transfers
    again = client.post(f"{base}/{new_warehouse['id']}/correct", json={"code": existing.code})
    assert again.status_code == 409
    zh = {"Accept-Language": "zh-CN"}
    not_corrected = client.post(f"{base}/{conflict['id']}/correct", json={"code": "W-REAL"}, headers=zh)
    # The kind in words, not its code (it read "detail_conflict 类条目只能确认…").
    assert not_corrected.status_code == 422
    assert not_corrected.get_json()["errors"]["code"] == ["“仓库信息不一致”条目只能确认，不能更正"]
    confirmed = client.post(f"{base}/{conflict['id']}/confirm")
    assert confirmed.get_json()["status"] == "confirmed"
    refused = client.post(f"{base}/{conflict['id']}/correct", json={"code": "W-REAL"})
    assert refused.status_code in (409, 422)


def test_an_item_correction_adjusts_stock_out_of_one_item_into_the_other(session, client):
    rows = [["仓库名称", "所在区县", "储备类型", "物资名称", "物资类别", "计量单位", "数量", "批次"]]
    rows.append(["东城库", "东城区", "政府储备", "颗粒炭", "污染物降解", "吨", 3, "B1"])
    upload = {"file": (io.BytesIO(sheet_of_rows(rows)), "a.xlsx")}
    report = client.post("/api/v1/imports", data=upload, content_type="multipart/form-data").get_json()
    base = f"/api/v1/imports/{report['import_id']}/review"
    [new_item] = client.get(base).get_json()["new_item"]

    corrected = client.post(f"{base}/{new_item['id']}/correct", json={"code": "PD-001"})

    assert corrected.status_code == 200, corrected.get_json()
    held = session.execute(select(Item.code, StockLine.quantity).join(StockLine.item))
    lines = {code: quantity for code, quantity in held}
    assert lines == {new_item["subject"]: 0, "PD-001": 3}
    assert not ledger_mismatches(session)


def test_a_service_s_refusal_names_the_column_not_the_service_s_field(session, run_import):
    """A warehouse or an item refused for a too long name says 仓库名称 / 物资名称, the headers the person filled."""
    head = ["仓库名称", "所在区县", "储备类型", "物资名称", "计量单位", "物资类别", "数量"]
    rows = [head, ["东城区" + "储备库" * 70, "东城区", "政府", "活性炭", "吨", "", 1]]
    rows.append(["东城区储备库", "东城区", "政府", "新型吸附材料" * 20, "张", "污染物收集", 1])

    report = run_import(sheet_of_rows(rows))

    said = [in_chinese(error.message) for error in report.errors]
    assert len(said) == 2 and "：仓库名称 超过 200 个字符" in said[0] and "：物资名称 超过 100 个字符" in said[1], said


def test_the_filler_s_phone_above_a_county_s_table_is_no_warehouse_s_phone(session, run_import):
    """填报人 … 联系电话 above a table listing warehouses is whoever filled it in: not every warehouse's contact.
    What all its rows share (储备类型, the county) still applies."""
    rows = [
        ["上林县环境应急物资储备台账"],
        ["填报单位：上林县生态环境局", None, "填报人：张三", None, "联系电话：0771-5555555"],
        ["储备类型：政府储备", None, "区县：上林县"],
        ["仓库名称", "联系人", "物资名称", "计量单位", "数量"],
        ["上林县西燕镇储备点", "韦", "活性炭", "吨", 1],
        ["上林县巷贤镇储备点", None, "活性炭", "吨", 2],
    ]

    report = run_import(sheet_of_rows(rows))

    assert report.status == "imported", report.errors
    found = session.execute(select(Warehouse.contact_person, Warehouse.contact_phone, Warehouse.reserve_type))
    assert sorted(found) == [("", "", "government"), ("韦", "", "government")]
    assert any("联系电话 0771-5555555" in note.message for note in report.notes)


def test_an_item_named_only_on_refused_rows_is_not_added_to_the_catalogue(session, run_import):
    """The catalogue keeps nothing of a refused row: not its new item, nor a unit variant only it wanted."""
    head = ["仓库名称", "所在区县", "储备类型", "物资名称", "计量单位", "数量"]
    rows = [
        head,
        ["东城区储备库", "东城区", "政府", "新型吸附剂", "吨", "很多"],
        ["东城区储备库", "东城区", "政府", "沙袋", "箱", "-3"],
    ]
    rows.append(["东城区储备库", "东城区", "政府", "活性炭", "吨", 1])
    items_before = session.scalar(select(func.count()).select_from(Item))

    report = run_import(sheet_of_rows(rows), skip_invalid=True)

    assert report.status == "imported" and sorted(error.row for error in report.errors) == [2, 3]
    assert session.scalar(select(func.count()).select_from(Item)) == items_before
    assert not report.counts.get("items_created") and not report.counts.get("unit_variants_created")


def test_empty_sheets_and_a_filling_instructions_sheet_pass_without_a_warning(session, run_import):
    """A new workbook's Sheet2 and Sheet3 left empty, a 填报说明 sheet of instructions: nothing to warn about;
    a sheet with cells and no ledger header still is."""

    def build(book) -> None:
        ledger = book.active
        ledger.title = "Sheet1"
        ledger.append(["仓库名称", "所在区县", "储备类型", "物资名称", "计量单位", "数量"])
        ledger.append(["横州市储备库", "横州市", "政府储备", "活性炭", "吨", 1])
        book.create_sheet("Sheet2")
        book.create_sheet("Sheet3")
        book.create_sheet("填报说明").append(["1、数量以实际库存为准"])
        book.create_sheet("草稿").append(["待核实"])

    report = run_import(xlsx(build))

    assert report.status == "imported" and report.counts["lines_created"] == 1
    assert [(warning.sheet, warning.row) for warning in report.warnings if "was not read" in warning.message] == [
        ("草稿", None)
    ]


# Two provinces importing at once (PostgreSQL, real threads and connections), each naming what the catalogue
# lacks: a new item (by name), or a unit the item's does not convert to (a new unit variant). Both imports are
# done, and it is added once, with both counts on it. Four rounds each, a new name or unit every round.
NEW_TO_THE_CATALOGUE = {
    "item": (
        ["仓库编码", "物资名称", "物资类别", "计量单位", "数量"],
        ("竞争吸油毡", "竞争围油栏", "竞争吸附棉", "竞争中和剂"),
    ),
    "unit variant": (["仓库编码", "物资名称", "计量单位", "数量"], ("包", "箱", "捆", "盒")),
}


@pytest.mark.parametrize("added", list(NEW_TO_THE_CATALOGUE))
def test_two_imports_adding_one_new_item_or_unit_at_once_add_it_once(app, db_kind, make_warehouse, added):
    if db_kind != "postgresql":
        pytest.skip("SQLite has one writer: the race exists on PostgreSQL only")
    with app.app_context():
        make_warehouse("W-BJ", county_code="110101")
        make_warehouse("W-SH", county_code="310101", latitude=31.23, longitude=121.49)
        db.session.commit()
        db.session.remove()
    header, rounds = NEW_TO_THE_CATALOGUE[added]
    for value in rounds:
        row = [value, "污染物收集", "卷", 3] if added == "item" else ["吸油毡", value, 3]
        files = [sheet_of_rows([header, [code, *row]]) for code in ("W-BJ", "W-SH")]

        outcomes = run_at_once(
            app,
            [lambda data=data: import_ledger(db.session, data, file_name="a.xlsx", actor="tester") for data in files],
        )

        assert outcomes == ["done", "done"], outcomes
        with app.app_context():
            named = Item.name == value if added == "item" else Item.unit == value
            held = db.session.execute(
                select(Item.code, func.sum(StockLine.quantity)).join(StockLine.item).where(named).group_by(Item.code)
            ).all()
            assert [quantity for _code, quantity in held] == [Decimal(6)], held
            db.session.remove()


def test_two_imports_of_one_new_coded_warehouse_at_once_register_it_once(app, db_kind):
    """As for a warehouse named without a code, for one given its code: both imports are done, one warehouse."""
    if db_kind != "postgresql":
        pytest.skip("SQLite has one writer: the race exists on PostgreSQL only")
    header = ["仓库编码", "仓库名称", "所在区县", "储备类型", "物资名称", "计量单位", "数量"]
    for number in range(8):
        data = sheet_of_rows([header, [f"NEW-{number}", f"新储备库{number}", "大兴区", "政府储备", "活性炭", "吨", 1]])

        outcomes = run_at_once(
            app,
            [lambda data=data: import_ledger(db.session, data, file_name="a.xlsx", actor="tester") for _ in range(2)],
        )

        assert outcomes == ["done", "done"], outcomes
        with app.app_context():
            assert db.session.scalar(select(func.count()).where(Warehouse.code == f"NEW-{number}")) == 1
            db.session.remove()


def test_two_first_saves_of_one_profile_at_once_are_both_kept(app):
    """Two people saving a new profile under one name at once (real threads and connections): the later replaces
    the earlier's mapping, as when it comes later, and keeps both header rows; neither is refused."""
    from inventory.import_profiles import save_profile

    for number in range(4):
        name = f"同时保存{number}"
        outcomes = run_at_once(
            app,
            [
                lambda name=name, header=header: save_profile(
                    db.session, "tester", name, {"库存": "quantity"}, [header]
                )
                for header in ("表头甲", "表头乙")
            ],
        )
        assert outcomes == ["done", "done"], outcomes
        with app.app_context():
            [profile] = db.session.scalars(select(ImportProfile).where(ImportProfile.name == name)).all()
            assert json.loads(profile.header_signatures) == ["表头乙", "表头甲"]
            db.session.remove()


@pytest.mark.parametrize("merged_while", ["reading", "writing", "adding"])
def test_an_import_counting_a_unit_variant_while_its_factor_is_set_counts_it_once_and_converted(
    app, db_kind, make_warehouse, monkeypatch, merged_while
):
    """A catalogue editor sets 1 箱 = 10 张 for 吸油毡, merging its 箱 variant (5 箱 held), while a county import
    counts 8 箱 (PostgreSQL, real threads and connections). The merge lands after the import read the catalogue
    (``reading``), or once it holds the stock lines (``writing``; ``adding``: the import adds the variant, none held
    yet). Both are done, and the 8 箱 end up as 80 张 of the item: nothing stays in, or goes to, the variant."""
    if db_kind != "postgresql":
        pytest.skip("SQLite has one writer: the race exists on PostgreSQL only")
    import threading
    import time

    import importers.ledger
    from api.messages import catalog
    from inventory.catalogue import get_item
    from inventory.models import ItemVariant
    from inventory.stock import receive_stock
    from inventory.unit_variants import set_pack_factor, unit_variant_for

    with app.app_context():
        warehouse = make_warehouse("W-BJ", county_code="110101")
        felt = get_item(db.session, "PL-001")  # counted in 张
        if merged_while != "adding":
            variant = unit_variant_for(db.session, "tester", felt, "箱")
            receive_stock(db.session, warehouse=warehouse, item=variant, quantity=5, actor="tester")
        db.session.commit()
        warehouse_id, felt_id = warehouse.id, felt.id
        db.session.remove()
    slowed = "hold_item_units" if merged_while == "reading" else "write_stock_counts"
    step = getattr(importers.ledger, slowed)
    reached, merge_done = threading.Event(), threading.Event()

    def slow_step(*args, **kwargs):
        if merged_while == "reading":  # the catalogue is read: the merge commits before the import goes on
            reached.set()
            merge_done.wait(10)
        done = step(*args, **kwargs)
        if merged_while != "reading":  # the lines are locked and counted: the merge starts meanwhile
            reached.set()
            time.sleep(0.5)
        return done

    monkeypatch.setattr(importers.ledger, slowed, slow_step)
    # row 3 is refused (no number): skipped, never converted nor told of the factor (the review found it was)
    rows = [["仓库编码", "物资名称", "计量单位", "数量"], ["W-BJ", "吸油毡", "箱", 8], ["W-BJ", "吸油毡", "箱", "若干"]]
    data = sheet_of_rows(rows)
    reports = []

    def count() -> None:
        reports.append(import_ledger(db.session, data, file_name="a.xlsx", actor="tester", skip_invalid=True))

    def merge() -> None:
        reached.wait(10)
        set_pack_factor(db.session, "tester", "PL-001", "箱", 10)
        db.session.commit()
        merge_done.set()

    outcomes = run_at_once(app, [count, merge])

    assert outcomes == ["done", "done"], outcomes
    assert reports[0].status == "imported", reports[0].errors
    with app.app_context():
        held = dict(
            db.session.execute(
                select(StockLine.item_id, func.sum(StockLine.quantity))
                .where(StockLine.warehouse_id == warehouse_id)
                .group_by(StockLine.item_id)
            ).all()
        )
        variant_id, merged = db.session.execute(
            select(ItemVariant.item_id, ItemVariant.merged_at).where(ItemVariant.base_item_id == felt_id)
        ).one()
        assert merged is not None and held == {variant_id: 0, felt_id: 80}, held
        assert ledger_mismatches(db.session) == []
    if merged_while == "reading":  # the rows read as the variant's are counted as the item's, and it says so
        [said] = [w.message for w in reports[0].warnings if "while this file was imported" in w.message]
        assert [w.row for w in reports[0].warnings if "while this file was imported" in w.message] == [2]
        assert [error.row for error in reports[0].errors] == [3]
        assert "1 箱 = 10 张" in said and "导入本文件期间" in catalog().translate(said, "zh")
