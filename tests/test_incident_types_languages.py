"""Incident types in several languages: codes stay, names and keywords per language, and the centre's languages
(DISPATCH_LANGUAGES) decide which keywords type a narrative. Pure, no services."""

import pytest

from dispatch.config import Settings
from dispatch.incidents.types import IncidentTypes, incident_types

COMMON = ["CARDIAC", "BREATHING", "FALL", "FIRE-STRUCT", "RTC-INJ", "RTC"]


def test_the_default_languages_are_german_and_english_and_read_from_the_environment(monkeypatch):
    assert Settings().languages == ["de", "en"]
    monkeypatch.setenv("DISPATCH_LANGUAGES", "FI, sv,en")
    assert Settings().languages == ["fi", "sv", "en"]
    monkeypatch.setenv("DISPATCH_LANGUAGES", "finnish")
    with pytest.raises(ValueError, match="two-letter"):
        Settings()


def test_german_and_english_type_narratives_as_before_and_finnish_words_do_not():
    types = incident_types()
    assert types.suggest("Er atmet nicht mehr, wir machen Reanimation")[0].code == "CARDIAC"
    assert types.suggest("my father fell down the stairs")[0].code == "FALL"
    assert types.suggest("sydänpysähdys, ei hengitä") is None


@pytest.mark.parametrize(
    ("narrative", "code"),
    [
        ("Sydänpysähdys, mies ei hengitä, aloitimme elvytyksen", "CARDIAC"),
        ("Vanha nainen kaatui portaissa, ei pääse ylös", "FALL"),
        ("Tulipalo kerrostalossa, asunto palaa ja savua tulee", "FIRE-STRUCT"),
        ("Liikenneonnettomuus, kolari ja pyöräilijä loukkaantui", "RTC-INJ"),
        ("Lapsella hengitysvaikeus, astmakohtaus", "BREATHING"),
        ("Hon andas inte, ingen puls", "CARDIAC"),
        ("Han föll i trappan och kommer inte upp", "FALL"),
        ("Huset brinner, mycket rök", "FIRE-STRUCT"),
        ("Trafikolycka, en cyklist påkörd och skadad", "RTC-INJ"),
        ("Svårt att andas, andnöd", "BREATHING"),
    ],
)
def test_a_finnish_and_swedish_centre_types_narratives_in_its_languages(narrative, code):
    types = IncidentTypes.load(languages=["fi", "sv", "en"])
    kind, confidence = types.suggest(narrative)
    assert kind.code == code and confidence > 0.3


def test_codes_stay_and_the_common_types_have_names_and_keywords_in_four_languages():
    types = incident_types()
    everywhere = IncidentTypes.load(languages=["de", "en", "fi", "sv"])
    assert types.codes() == everywhere.codes()
    for code in COMMON:
        t = everywhere.get(code)
        assert {lang for lang, _ in t.names} >= {"de", "fi", "sv"}
        assert t.name_in("en") == t.name and t.name_in("fi") != t.name
        assert len(t.keywords) > len(types.get(code).keywords)
    assert types.get("THEFT").name_in("it") == types.get("THEFT").name  # none given: the English name


def test_keywords_per_language_are_validated(tmp_path):
    entry = """
[[type]]
code = "UNKNOWN"
name = "Unknown"
priority = 3
group = "service"
plan = {{}}
public = false
on_scene_min = 10
transport = false
share = 0
{extra}
"""
    path = tmp_path / "types.toml"
    path.write_text(entry.format(extra='keywords.fi = ["apua"]\nkeywords.finnish = ["apua"]'))
    with pytest.raises(ValueError, match="two-letter"):
        IncidentTypes.load(path)
    path.write_text(entry.format(extra='keywords.fi = ["apua", "Apua"]'))
    with pytest.raises(ValueError, match="repeated"):
        IncidentTypes.load(path)
    path.write_text(entry.format(extra='names = { fi = "" }\nkeywords = ["help"]'))
    with pytest.raises(ValueError, match="names"):
        IncidentTypes.load(path)
    path.write_text(entry.format(extra='keywords.fi = ["apua"]\nkeywords.sv = ["hjälp", "apua"]'))
    assert IncidentTypes.load(path, languages=["fi", "sv"]).get("UNKNOWN").keywords == ("apua", "hjälp")
    assert IncidentTypes.load(path).get("UNKNOWN").keywords == ()


def test_the_centres_names_language_names_the_types_on_every_screen_and_keeps_the_english():
    """DISPATCH_NAMES_LANGUAGE=fi: FALL is "Kaatuminen" wherever a type is named (its code unchanged), its English
    name kept among its names; every type of the file is named in German, Finnish and Swedish; a language the
    file names no type in leaves the file's own names."""
    finnish = IncidentTypes.load(languages=("fi", "en"), names_language="fi")
    fall = finnish.get("FALL")
    assert (fall.code, fall.name) == ("FALL", "Kaatuminen") and dict(fall.names)["en"] == "Fall or injury"
    assert all({"de", "fi", "sv"} <= dict(t.names).keys() for t in IncidentTypes.load())
    english = IncidentTypes.load()
    assert [t.name for t in IncidentTypes.load(names_language="it")] == [t.name for t in english]
    assert english.get("FALL").name == "Fall or injury"  # unset: the file's own names
