"""Item matching has one home, catalogue.ItemNames: code first, then name or alias, never by chance."""

from __future__ import annotations

import pytest

from api.messages import catalog
from inventory.catalogue import create_item, item_key, item_names, item_variants, match_items, resolve_item
from inventory.errors import NotFound, ValidationFailed


@pytest.mark.parametrize(
    ("typed", "canonical"),
    [
        ("ＰＤ－００１", "pd-001"),
        ("  PD-001 ", "pd-001"),
        ("活性 炭", "活性炭"),
        ("Activated  Carbon", "activatedcarbon"),
        ("\ufeff活性\u200b炭\u00ad", "活性炭"),  # pasted from the web: characters that show nothing
    ],
)
def test_item_key_folds_width_case_and_spaces(typed, canonical):
    assert item_key(typed) == canonical


@pytest.mark.parametrize(
    "typed", ["PD-001", "pd-001", "ＰＤ－００１", "活性炭", "颗粒活性炭", "activated carbon", "活性碳", "颗粒活性碳"]
)
def test_a_code_name_or_alias_as_typed_resolves_to_its_item(session, typed):
    assert resolve_item(session, typed).code == "PD-001"


def test_an_unknown_text_is_a_404_naming_the_field(session):
    with pytest.raises(NotFound) as refused:
        resolve_item(session, "不存在的物资", "needs.0.item")
    assert refused.value.field == "needs.0.item"


def test_a_name_two_items_share_is_refused_with_both_candidates(session):
    create_item(session, "tester", code="ZZ-1", name="吸附棉", category="pollutant_collection", unit="kg")
    create_item(session, "tester", code="ZZ-2", name="吸附棉", category="pollutant_collection", unit="卷")
    session.flush()
    with pytest.raises(ValidationFailed) as refused:
        resolve_item(session, "吸附棉")
    assert "ZZ-1" in refused.value.message and "ZZ-2" in refused.value.message
    assert resolve_item(session, "zz-2").code == "ZZ-2"  # the code still names one


def test_a_code_wins_over_another_items_name(session):
    create_item(session, "tester", code="ZZ-3", name="PD-002", category="pollutant_collection", unit="kg")
    session.flush()
    assert resolve_item(session, "PD-002").code == "PD-002"


def test_the_worker_copy_follows_catalogue_changes(session):
    before = item_names(session)
    create_item(session, "tester", code="ZZ-4", name="新型吸油毡", category="pollutant_collection", unit="kg")
    session.flush()
    assert resolve_item(session, "新型吸油毡").code == "ZZ-4"
    session.rollback()
    assert item_names(session).version == before.version
    with pytest.raises(NotFound):
        resolve_item(session, "新型吸油毡")


def test_codes_that_differ_only_in_case_are_matched_exactly_or_refused_never_by_chance(session):
    create_item(session, "tester", code="ZZ-5", name="甲", category="pollutant_collection", unit="kg")
    create_item(session, "tester", code="zz-5", name="乙", category="pollutant_collection", unit="kg")
    session.flush()
    assert resolve_item(session, "ZZ-5").name == "甲" and resolve_item(session, "zz-5").name == "乙"
    with pytest.raises(ValidationFailed):
        resolve_item(session, "Zz-5")


# --- guesses: variant spellings, similar names, pinyin ------------------------------------------


@pytest.mark.parametrize(
    ("typed", "code", "how"),
    [
        ("活性炭", "PD-001", "exact"),
        ("活性碳", "PD-001", "alias"),  # 炭/碳 confused: item_variants.csv
        ("颗粒活性碳", "PD-001", "alias"),  # the variant inside a catalogue alias
        ("石灰", "PD-002", "alias"),  # alike to 生石灰 and 熟石灰 both: only the variant table settles it
        ("围油拦", "PC-001", "alias"),
        ("hxt", "PD-001", "pinyin"),
        ("HXT", "PD-001", "pinyin"),
        ("huoxingtan", "PD-001", "pinyin"),
        ("化学防护服装", "SP-001", "similar"),
        ("便携式气体检测器", "EM-001", "similar"),
    ],
)
def test_a_variant_a_similar_name_or_pinyin_is_matched_and_says_how(session, typed, code, how):
    match, tied = item_names(session).best_match(typed)
    assert match is not None and tied == []
    assert (match.item.code, match.how) == (code, how)
    assert match.fuzzy == (how != "exact")
    assert 0 < match.score <= 1


@pytest.mark.parametrize("typed", ["挖掘装载机械设备", "编织袋", "xyzq", "", "  "])
def test_a_text_like_no_item_matches_nothing(session, typed):
    assert item_names(session).best_match(typed) == (None, [])


def test_a_text_equally_like_two_items_is_not_matched_but_lists_both(session):
    create_item(session, "tester", code="ZZ-6", name="吸附围栏甲", category="pollutant_control", unit="米")
    create_item(session, "tester", code="ZZ-7", name="吸附围栏乙", category="pollutant_control", unit="米")
    session.flush()
    match, tied = item_names(session).best_match("吸附围栏丙")
    assert match is None
    assert {m.item.code for m in tied} == {"ZZ-6", "ZZ-7"} and {m.how for m in tied} == {"similar"}


def test_pinyin_initials_two_items_share_are_a_tie(session):
    create_item(session, "tester", code="ZZ-8", name="黄心土", category="other", unit="吨")  # also hxt
    session.flush()
    match, tied = item_names(session).best_match("hxt")
    assert match is None and {m.item.code for m in tied} == {"PD-001", "ZZ-8"}


def test_suggestions_rank_guesses_and_describe_them_in_the_catalog_s_language(session):
    found = match_items(session, "活性碳")
    assert found[0].item.code == "PD-001" and found[0].how == "alias"
    said = catalog().translate(f"item name '活性碳' {found[0].describe()}", "zh")
    assert "PD-001 活性炭" in said and "常见别写" in said
    assert [m.how for m in match_items(session, "PD-001")] == ["exact"]


def test_the_variant_table_is_data():
    pairs = dict(item_variants())
    assert pairs["活性碳"] == "活性炭" and pairs["石灰"] == "生石灰"
