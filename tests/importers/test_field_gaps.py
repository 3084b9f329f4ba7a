"""Field ledgers: what county offices really fill in that an import used to refuse or read without a word.

Each workbook is small and built the way the offices build theirs (openpyxl, titles, merged cells, hidden
columns); each test fails without the rule it is about.
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from inventory.access import Principal
from inventory.models import Warehouse
from inventory.reference import Role
from tests.importers.conftest import FIELD_HEAD, in_chinese, sheet_of_rows, stock, xlsx

HEAD = FIELD_HEAD


def test_a_quantity_with_its_pack_in_brackets_is_counted_in_the_item_s_unit_or_read_in_packs(session, run_import):
    data = sheet_of_rows(
        [
            HEAD,
            ["W-1", "东城区储备库", "政府储备", "110101", "吸油毡", "张", "3包（每包10张）", "a"],
            ["W-1", None, None, None, "吸油毡", None, "2箱(20张/箱)", "b"],
            ["W-1", None, None, None, "活性炭", None, "4袋【每袋25kg】", "c"],
            ["W-1", None, None, None, "沙袋", "袋", "3袋（每袋25公斤）", "d"],
            ["W-1", None, None, None, "沙袋", "袋", "3袋（20-30公斤）", "e"],
        ]
    )

    report = run_import(data, skip_invalid=True)

    assert stock(session) == {
        ("W-1", "PL-001", "a"): Decimal(30),  # 吸油毡 counted in 张: 3 包 of 10 张
        ("W-1", "PL-001", "b"): Decimal(40),
        ("W-1", "PD-001", "c"): Decimal("0.1"),  # 活性炭 in 吨: 4 袋 of 25 kg
        ("W-1", "SC-005", "d"): Decimal(3),  # 沙袋 counted in 袋: 3 袋, the pack's weight only noted
    }
    assert [(error.row, error.column) for error in report.errors] == [(6, "数量")]  # a range stays refused
    packs = {w.row: in_chinese(w.message) for w in report.warnings if "包装" in in_chinese(w.message)}
    assert packs[2] == "数量“3包（每包10张）”写明了包装（1 包 = 10 张）：按 30 张 读取"
    assert "按 0.1 吨" not in packs[4] and "按 100 kg 读取" in packs[4]
    assert packs[5] == "数量“3袋（每袋25公斤）”写明了包装（1 袋 = 25 公斤）：按 3 袋 读取，包装仅作记录，未用于换算"
    assert not any("单位“" in in_chinese(w.message) and w.row == 2 for w in report.warnings)  # no unit variant


def test_a_pack_in_brackets_needs_its_marker_and_is_said_as_written(session, run_import):
    data = sheet_of_rows(
        [
            HEAD,
            ["W-1", "东城区储备库", "政府储备", "110101", "封堵气囊", "个", "2箱（40个）", "a"],  # a total: refused
            ["W-1", None, None, None, "活性炭", None, "2箱（20kg）", "b"],
            ["W-1", None, None, None, "封堵气囊", "个", "1.25箱〔每箱40个〕", "c"],
            ["W-1", None, None, None, "消泡剂", "L", "2桶（每桶200L）", "d"],
        ]
    )

    report = run_import(data, skip_invalid=True)

    assert [(error.row, error.column) for error in report.errors] == [(2, "数量"), (3, "数量")]
    packs = {w.row: in_chinese(w.message) for w in report.warnings if "包装" in in_chinese(w.message)}
    assert packs[4] == "数量“1.25箱〔每箱40个〕”写明了包装（1 箱 = 40 个）：按 50 个 读取"
    assert packs[5] == "数量“2桶（每桶200L）”写明了包装（1 桶 = 200 L）：按 400 L 读取"


def test_a_name_and_a_phone_in_one_contact_cell_are_split_when_no_phone_is_given(session, run_import):
    head = ["仓库编码", "仓库名称", "储备类型", "区县代码", "联系人", "联系电话", "物资名称", "计量单位", "数量"]
    data = sheet_of_rows(
        [
            ["东城区环境应急物资储备台账"],
            head,
            ["W-1", "一号库", "政府储备", "110101", "张三 13800138000", None, "活性炭", "吨", 1],
            ["W-1", "一号库", "政府储备", "110101", "张三 13800138000", None, "生石灰", "吨", 2],
            ["W-2", "二号库", "政府储备", "110101", "李四（0771-1234567）", "", "活性炭", "吨", 1],
            ["W-3", "三号库", "政府储备", "110101", "王五 13900139000", "010-5555", "活性炭", "吨", 1],
            ["W-4", "四号库", "政府储备", "110101", "赵六", None, "活性炭", "吨", 1],
        ]
    )

    report = run_import(data)

    assert report.status == "imported", report.errors
    contacts = session.execute(
        select(Warehouse.code, Warehouse.contact_person, Warehouse.contact_phone).order_by(Warehouse.code)
    )
    assert list(contacts) == [
        ("W-1", "张三", "13800138000"),
        ("W-2", "李四", "0771-1234567"),
        ("W-3", "王五 13900139000", "010-5555"),  # a phone given: the cell is left as written
        ("W-4", "赵六", ""),
    ]
    split = [(w.row, w.column, in_chinese(w.message)) for w in report.warnings if w.column == "联系人"]
    assert split == [
        (3, "联系人", "联系人“张三 13800138000”同时写了姓名和电话：联系人读作 张三，联系电话读作 13800138000"),
        (5, "联系人", "联系人“李四（0771-1234567）”同时写了姓名和电话：联系人读作 李四，联系电话读作 0771-1234567"),
    ]


def test_a_contact_cell_is_split_only_into_a_phone_that_fits_keeping_its_bracket(session, run_import):
    head = ["仓库编码", "仓库名称", "储备类型", "区县代码", "联系人", "物资名称", "计量单位", "数量"]
    many = "张三 13800138000、13900139000、13700137000"  # the phones: 35 characters, the column holds 32
    data = sheet_of_rows(
        [
            head,
            ["W-1", "一号库", "政府储备", "110101", many, "活性炭", "吨", 1],
            ["W-2", "二号库", "政府储备", "110101", "李四 (010)12345678", "活性炭", "吨", 1],
            ["W-3", "三号库", "政府储备", "110101", "王五（010）12345678", "活性炭", "吨", 1],
        ]
    )

    report = run_import(data)

    assert report.status == "imported", [error.message for error in report.errors]
    contacts = session.execute(
        select(Warehouse.code, Warehouse.contact_person, Warehouse.contact_phone).order_by(Warehouse.code)
    )
    assert list(contacts) == [("W-1", many, ""), ("W-2", "李四", "(010)12345678"), ("W-3", "王五", "（010）12345678")]


def test_a_stock_sheet_whose_only_place_is_its_storage_place_reads_it_as_the_warehouse(session, run_import):
    head = ["序号", "物资名称", "计量单位", "数量", "存放地点", "所在区县", "储备类型"]
    data = sheet_of_rows(
        [
            head,
            [1, "活性炭", "吨", 2, "东城区环保局仓库", "东城区", "政府储备"],
            [2, "生石灰", "吨", 3, "东城区环保局仓库", "东城区", "政府储备"],
            [3, "沙袋", "袋", 100, "和平里街道储备点", "东城区", "政府储备"],
        ]
    )

    report = run_import(data)

    assert report.status == "imported", [error.message for error in report.errors]
    stored = session.execute(select(Warehouse.code, Warehouse.name, Warehouse.address).order_by(Warehouse.code))
    assert list(stored) == [
        ("110101-001", "东城区环保局仓库", "东城区环保局仓库"),
        ("110101-002", "和平里街道储备点", "和平里街道储备点"),
    ]
    assert sum(stock(session).values()) == 105
    said = [(w.row, w.column, in_chinese(w.message)) for w in report.warnings if w.column == "存放地点"]
    assert said == [(1, "存放地点", "本表没有仓库列（仓库编码或仓库名称）：“存放地点”列中的地点按仓库名称读取")]
    assert report.sheets[0]["columns"]["warehouse_name"] == "存放地点"

    def hidden_place(book) -> None:  # the place column hidden: read as two fields, named once
        sheet = book.active
        sheet.append(head)
        sheet.append([1, "活性炭", "吨", 2, "东城区环保局仓库", "东城区", "政府储备"])
        sheet.column_dimensions["E"].hidden = True

    hidden = run_import(xlsx(hidden_place), dry_run=True)
    assert [w.message for w in hidden.warnings if "hidden" in w.message] == [
        "sheet 'Sheet' columns E (存放地点) are hidden in the file; they were read like every other column: delete "
        "them from the sheet if they should not be imported"
    ]


def test_a_place_column_beside_a_column_like_a_warehouse_s_is_no_warehouse(session, run_import):
    head = ["所在仓库", "物资名称", "计量单位", "数量", "存放地点(A区3排)", "所在区县", "储备类型"]
    data = sheet_of_rows(
        [
            head,
            ["东城区一号库", "活性炭", "吨", 2, "A区3排", "东城区", "政府储备"],
            ["东城区一号库", "生石灰", "吨", 3, "B区1排", "东城区", "政府储备"],
        ]
    )

    report = run_import(data)

    assert report.status == "rejected"  # no warehouse column, as before; the warning names 所在仓库
    assert session.scalars(select(Warehouse.code)).all() == []  # no shelf registered as a warehouse
    assert "warehouse_name" not in report.sheets[0]["columns"]
    assert any(w.column == "所在仓库" and "warehouse_name" in w.message for w in report.warnings)


def test_a_place_column_beside_a_warehouse_column_stays_the_address(session, run_import):
    head = ["仓库名称", "所在区县", "储备类型", "物资名称", "计量单位", "数量", "存放地点"]
    data = sheet_of_rows([head, ["一号库", "东城区", "政府储备", "活性炭", "吨", 2, "和平里街道"]])

    report = run_import(data)

    assert report.status == "imported", report.errors
    assert list(session.execute(select(Warehouse.name, Warehouse.address))) == [("一号库", "和平里街道")]
    assert not [w for w in report.warnings if "存放地点" in w.message]


def test_the_county_a_sheet_s_title_names_places_its_warehouses_that_give_none(session, run_import):
    def titled(title: str, *rows: list) -> list[list]:
        return [
            [title],
            ["填报单位：生态环境局"],
            ["序号", "仓库编码", "仓库名称", "储备类型", "物资名称", "计量单位", "数量"],
        ] + [list(row) for row in rows]

    moved = run_import(sheet_of_rows([HEAD, ["W-9", "西城库", "政府储备", "110102", "活性炭", "吨", 1, "a"]]))
    assert moved.status == "imported", moved.errors
    data = sheet_of_rows(
        titled(
            "2024年东城区环境应急物资储备台账",
            [1, None, "一号库", "政府储备", "活性炭", "吨", 2],
            [2, None, "一号库", "政府储备", "生石灰", "吨", 3],
            [3, "W-9", "西城库", "政府储备", "沙袋", "袋", 4],  # a warehouse known elsewhere is not moved
        )
    )

    report = run_import(data)

    assert report.status == "imported", [error.message for error in report.errors]
    stored = session.execute(select(Warehouse.code, Warehouse.name, Warehouse.county_code).order_by(Warehouse.code))
    assert list(stored) == [("110101-001", "一号库", "110101"), ("W-9", "西城库", "110102")]
    (said,) = [in_chinese(w.message) for w in report.warnings if w.row == 1]
    assert said == "标题“2024年东城区环境应急物资储备台账”写明了区县 东城区（110101）：本表未填写区县的仓库按此区县处理"
    again = run_import(data)
    assert again.counts["warehouses_created"] == 0  # found again in the title's county
    city = run_import(
        sheet_of_rows(titled("北京市环境应急物资储备台账", [1, None, "二号库", "政府储备", "活性炭", "吨", 1]))
    )
    assert city.status == "rejected"  # a city is no county: the warehouse still needs one
    assert not [w for w in city.warnings if w.row == 1]
    elsewhere = run_import(sheet_of_rows([HEAD, ["W-8", "市级储备库", "政府储备", "110102", "活性炭", "吨", 1, "a"]]))
    assert elsewhere.status == "imported", elsewhere.errors
    found = run_import(
        sheet_of_rows(
            titled("2024年东城区环境应急物资储备台账", [1, None, "市级储备库", "政府储备", "活性炭", "吨", 5])
        )
    )
    assert found.status == "imported", [error.message for error in found.errors]
    assert found.counts["warehouses_created"] == 0  # found where it is, as without the title: no second one
    assert stock(session)[("W-8", "PD-001", "")] == 5
    # a name registered only in another city is not that one (应急物资仓库 is everywhere): a new one in the title's
    # county, not 横州's (it was booked there, the title's county said to be used)
    faraway = run_import(sheet_of_rows([HEAD, ["GX-1", "应急物资仓库", "政府储备", "450181", "活性炭", "吨", 1, "a"]]))
    assert faraway.status == "imported", faraway.errors
    titled_here = run_import(
        sheet_of_rows(
            titled("2024年东城区环境应急物资储备台账", [1, None, "应急物资仓库", "政府储备", "活性炭", "吨", 5])
        )
    )
    assert titled_here.status == "imported", [error.message for error in titled_here.errors]
    assert titled_here.counts["warehouses_created"] == 1
    assert stock(session)[("GX-1", "PD-001", "a")] == 1
    counties = session.scalars(select(Warehouse.county_code).where(Warehouse.name == "应急物资仓库"))
    assert sorted(counties) == ["110101", "450181"]
    two = run_import(
        sheet_of_rows(titled("东城区、西城区物资储备汇总表", [1, None, "二号库", "政府储备", "活性炭", "吨", 1]))
    )
    assert two.status == "rejected"  # a title naming two counties names none
    assert not [w for w in two.warnings if w.row == 1]
    annexed = run_import(
        sheet_of_rows(
            [["附件2"], *titled("东城区环境应急物资储备台账", [1, None, "三号库", "政府储备", "活性炭", "吨", 1])]
        )
    )
    assert annexed.status == "imported", [error.message for error in annexed.errors]  # the title below 附件2
    assert session.scalar(select(Warehouse.county_code).where(Warehouse.name == "三号库")) == "110101"


def test_a_manager_s_own_ledger_with_a_new_phone_is_imported_keeping_the_registry_s_details(
    session, run_import, make_warehouse
):
    """A manager importing their own warehouse's ledger, whose 联系电话 differs from the registry, had the
    warehouse's every row rejected "无权管理省份 110000 的仓库" on the code column: managers count stock, and only
    provincial staff change a warehouse's record. The stock goes in; the details stay as registered, said once."""
    mine = make_warehouse("W-1", name="东城区储备库", contact_phone="010-1111")
    others = make_warehouse("W-2", name="西城区储备库", contact_phone="010-2222")
    session.commit()
    manager = Principal("mia", Role.MANAGER, warehouse_ids=frozenset({mine.id}))
    head = [*FIELD_HEAD, "联系电话"]

    own = run_import(
        sheet_of_rows([head, ["W-1", "东城区储备库", "政府储备", "110101", "活性炭", "吨", 5, "a", "13900139000"]]),
        actor=manager,
    )

    assert own.status == "imported", [error.message for error in own.errors]
    assert stock(session)[("W-1", "PD-001", "a")] == 5
    assert session.get(Warehouse, mine.id).contact_phone == "010-1111"
    said = [warning.message for warning in own.warnings if "registry" in warning.message]
    assert len(said) == 1 and in_chinese(said[0]) == (
        "仓库 W-1：联系电话 与登记信息不同，已保留登记信息：仓库信息只能由省级人员修改"
    ), said
    # another's warehouse: its stock is still not the manager's to count
    theirs = run_import(
        sheet_of_rows([head, ["W-2", "西城区储备库", "政府储备", "110101", "活性炭", "吨", 5, "a", "13900139000"]]),
        actor=manager,
    )
    assert theirs.status == "rejected"
    assert ("W-2", "PD-001", "a") not in stock(session)
    assert session.get(Warehouse, others.id).contact_phone == "010-2222"
