"""Place-name matching has one home, regions.RegionNames: suffixes optional, width and spaces folded."""

from __future__ import annotations

import pytest

from inventory.errors import NotFound, ValidationFailed
from inventory.geo import locate_incident
from inventory.regions import name_key, names_agree, region_names, resolve_region_path


def test_a_name_is_compared_without_width_spaces_or_punctuation():
    assert name_key(" 海 淀·区 ") == name_key("海淀区")
    assert names_agree("北京", "北京市") and names_agree("东城区", "东城") and not names_agree("西城", "东城区")


def test_a_county_name_with_or_without_its_suffix_finds_it(session):
    names = region_names(session)
    assert names.places_named("海淀") == ["110108"] == names.places_named("海淀区")


def test_a_shared_county_name_is_narrowed_by_the_city_or_province(session):
    names = region_names(session)
    assert len(names.places_named("朝阳区")) == 2  # 北京 and 长春
    assert names.places_named("朝阳区", province_name="吉林省") == ["220104"]
    assert names.places_named("朝阳区", "北京") == ["110105"]


def test_a_city_without_counties_is_a_county_level_place(session):
    names = region_names(session)
    assert names.is_county_level("441900") and not names.is_county_level("440100")
    assert names.places_named(city_name="东莞市") == ["441900"]
    path = resolve_region_path(session, "441900")
    assert (path.county_code, path.city_code, path.province_code) == ("441900", "441900", "440000")


@pytest.mark.parametrize("typed", ["海南", "海南省", "河北", "吉林省"])
def test_an_incident_place_named_as_a_province_is_refused_not_taken_for_a_county_elsewhere(session, typed):
    """海南 is the province, not 海南区 in Inner Mongolia (河北: not 河北区 in Tianjin): a responder would get
    distances from the wrong end of the country."""
    with pytest.raises(ValidationFailed, match="is a province; give a county or city") as refused:
        locate_incident(session, county=typed)
    assert refused.value.field == "county"
    # The message's {code} is the province's code, as for a province given by its code (params.code: 460000)
    assert str(refused.value).startswith(("460000 (海南省)", "130000 (河北省)", "220000 (吉林省)")), str(refused.value)


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("海南区", "150303"),
        ("河北区", "120105"),
        ("吉林", "220200"),
        ("北京", "110100"),
        ("重庆", "500100"),
        ("海南省三亚市", "460200"),  # a city that has counties, written with its province: the city
        ("广东省深圳市", "440300"),
    ],
)
def test_a_place_named_in_full_or_a_city_inside_the_province_of_its_name_is_found(session, typed, code):
    assert locate_incident(session, county=typed).county_code == code


def test_an_incident_place_name_that_several_places_share_is_refused_with_them(session):
    with pytest.raises(ValidationFailed) as refused:
        locate_incident(session, county="朝阳区")
    assert "110105" in refused.value.message and "220104" in refused.value.message
    assert locate_incident(session, county="海淀").county_code == "110108"


def test_a_city_written_with_a_province_it_is_not_in_is_no_place(session):
    with pytest.raises(NotFound):
        locate_incident(session, county="河北省三亚市")


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("北京海淀", "110108"),  # typed at 3 a.m. on a phone: no suffixes
        ("北京市海淀", "110108"),
        ("吉林朝阳", "220104"),  # a shared county name, narrowed by the province written before it
        ("北京朝阳区", "110105"),
        ("江苏南京鼓楼", "320106"),  # province, city and county, none with its suffix
        ("南京鼓楼", "320106"),
    ],
)
def test_a_place_written_as_names_without_their_suffixes_is_found(session, typed, code):
    assert locate_incident(session, county=typed).county_code == code


@pytest.mark.parametrize("typed", ["上海海淀", "河北海淀", "北京鼓楼"])
def test_names_without_suffixes_that_do_not_nest_are_no_place(session, typed):
    with pytest.raises(NotFound):
        locate_incident(session, county=typed)
