"""Item matching has one home, catalogue.ItemNames: code first, then name or alias, never by chance."""

from __future__ import annotations

import pytest

from inventory.catalogue import create_item, item_key, item_names, resolve_item
from inventory.errors import NotFound, ValidationFailed


@pytest.mark.parametrize(
    ("typed", "canonical"),
    [
        ("ＰＤ－００１", "pd-001"),
        ("  PD-001 ", "pd-001"),
        ("活性 炭", "活性炭"),
        ("Activated  Carbon", "activatedcarbon"),
    ],
)
def test_item_key_folds_width_case_and_spaces(typed, canonical):
    assert item_key(typed) == canonical


@pytest.mark.parametrize("typed", ["PD-001", "pd-001", "ＰＤ－００１", "活性炭", "颗粒活性炭", "activated carbon"])
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
