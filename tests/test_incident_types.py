"""The incident types table (types.toml), its validation and the narrative classifier; pure, no services."""

import pytest

from dispatch.incidents.types import CAPABILITIES, GROUPS, IncidentTypes, fold, incident_types

# Every type the brief requires, by the code the table gives it.
REQUIRED = [
    "CARDIAC",
    "BREATHING",
    "CHEST-PAIN",
    "STROKE",
    "UNCONSCIOUS",
    "FALL",
    "OVERDOSE",
    "ALLERGY",
    "CHILDBIRTH",
    "SICK",
    "FIRE-STRUCT",
    "FIRE-VEH",
    "FIRE-BRUSH",
    "FIRE-ALARM",
    "FIRE-SMOKE",
    "GAS-LEAK",
    "HAZMAT",
    "RTC-INJ",
    "RTC-TRAP",
    "RTC",
    "ROAD-HAZARD",
    "BURGLARY-NOW",
    "BURGLARY",
    "ROBBERY",
    "ASSAULT",
    "DOMESTIC",
    "WEAPON",
    "SUSPICIOUS",
    "THEFT",
    "WELFARE",
    "MISSING",
    "NOISE",
    "ANIMAL",
    "WATER-RESCUE",
    "MOUNTAIN-RESCUE",
    "FLOOD",
    "UNKNOWN",
]


@pytest.fixture(scope="module")
def types() -> IncidentTypes:
    return incident_types()


def test_the_packaged_table_loads_with_every_required_type(types):
    assert len(types) >= 30
    assert len(set(types.codes())) == len(types) == len(list(types))
    missing = [code for code in REQUIRED if types.get(code) is None]
    assert not missing


def test_every_type_is_well_formed(types):
    for t in types:
        assert t.code == t.code.upper() and t.name
        assert 1 <= t.priority <= 4
        assert t.group in GROUPS
        assert set(t.plan_dict()) <= CAPABILITIES
        assert all(slot.count >= 1 for slot in t.plan)
        assert all(k == k.lower() for k in t.keywords)
        assert t.on_scene_min >= 0
        assert t.share >= 0 and (t.plan or not t.share)
    assert sum(t.share for t in types if t.group == "medical") > sum(t.share for t in types if t.group == "fire")


def test_unknown_is_internal_and_sends_someone_to_look(types):
    unknown = types.get("UNKNOWN")
    assert unknown.name == "Unknown problem (call-taker to classify)"
    assert unknown.priority == 2 and not unknown.public
    assert unknown.plan_dict() == {"police": 1, "ambulance": 1}
    assert types.get("TRANSFER").public is False


def test_response_plans_are_realistic(types):
    assert types.get("FIRE-STRUCT").plan_dict() == {"engine": 2, "ladder": 1, "ambulance": 1, "police": 1}
    assert types.get("CARDIAC").plan_dict()["ambulance"] == 1 and types.get("CARDIAC").plan_dict()["engine"] == 1
    assert set(types.get("RTC-INJ").plan_dict()) == {"ambulance", "engine", "police"}
    assert set(types.get("RTC-TRAP").plan_dict()) == {"ambulance", "engine", "police", "rescue"}
    assert set(types.get("HAZMAT").plan_dict()) == {"rescue", "engine", "police", "ambulance"}
    assert types.get("BURGLARY-NOW").plan_dict() == {"police": 2}
    assert types.get("DOMESTIC").plan_dict() == {"police": 2}
    assert types.get("WELFARE").plan_dict() == {"police": 1}
    noise = types.get("NOISE")
    assert noise.plan_dict() == {"police": 1} and noise.priority == 4 and noise.public
    assert all(types.get(c).priority == 1 for c in ("CARDIAC", "FIRE-STRUCT", "RTC-TRAP", "WEAPON"))
    assert types.get("CARDIAC").transport and not types.get("FIRE-STRUCT").transport


def test_get_is_case_insensitive(types):
    assert types.get("rtc-inj") is types.get("RTC-INJ") is types.get(" Rtc-Inj ")
    assert types.get("NOPE") is None


def test_the_packaged_table_is_loaded_once():
    assert incident_types() is incident_types()


# --- validation ----------------------------------------------------------------------------------


def _entry(code: str, **fields) -> str:
    values = {
        "name": f'"{code} name"',
        "priority": "2",
        "group": '"police"',
        "plan": "{ police = 1 }",
        "keywords": '["word"]',
        "public": "true",
        "on_scene_min": "10",
        "transport": "false",
        "share": "5",
    }
    values.update(fields)
    lines = [f'code = "{code}"'] + [f"{k} = {v}" for k, v in values.items() if v is not None]
    return "[[type]]\n" + "\n".join(lines) + "\n"


def _load(tmp_path, *entries: str) -> IncidentTypes:
    path = tmp_path / "types.toml"
    path.write_text("\n".join(entries), encoding="utf-8")
    return IncidentTypes.load(path)


def test_a_small_valid_table_loads(tmp_path):
    table = _load(tmp_path, _entry("NOISE"), _entry("UNKNOWN", keywords="[]"))
    assert table.codes() == ["NOISE", "UNKNOWN"]
    assert table.get("noise").plan_dict() == {"police": 1}


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        ([_entry("BOAT", plan="{ boat = 1 }")], r"'BOAT': unknown capability 'boat'"),
        ([_entry("NOISE", priority="5")], r"'NOISE': priority 5 is not 1\.\.4"),
        ([_entry("NOISE", priority="0")], r"'NOISE': priority 0"),
        ([_entry("NOISE"), _entry("NOISE")], r"duplicate incident type code 'NOISE'"),
        ([_entry("NOISE", group='"weather"')], r"'NOISE': unknown group 'weather'"),
        ([_entry("NOISE", plan="{ police = 0 }")], r"'NOISE': count 0 for 'police'"),
        ([_entry("NOISE", public=None)], r"'NOISE': missing public"),
        ([_entry("NOISE", priorty="2")], r"'NOISE': unknown field priorty"),
        ([_entry("noise")], r"code 'noise' is not a short upper-case code"),
        ([_entry("NOISE", keywords='["laut", "LAUT"]')], r"'NOISE': keywords repeated"),
        ([_entry("NOISE", keywords='["über", "ueber"]')], r"'NOISE': keywords repeated once folded: uber"),
        ([_entry("NOISE", keywords='["laut", "?!"]')], r"'NOISE': keyword '\?!' has no word"),
        ([_entry("NOISE", transport='"no"')], r"'NOISE': transport must be true or false"),
        ([_entry("NOISE", share="-1")], r"'NOISE': share -1 must be a number of calls per thousand"),
        ([_entry("NOISE", plan="{}", share="3")], r"'NOISE': a type with no response plan cannot have a share"),
    ],
)
def test_validation_rejects_a_bad_entry_and_names_it(tmp_path, entries, message):
    with pytest.raises(ValueError, match=message):
        _load(tmp_path, *entries, _entry("UNKNOWN", keywords="[]"))


def test_validation_requires_the_unknown_type(tmp_path):
    with pytest.raises(ValueError, match="UNKNOWN type is missing"):
        _load(tmp_path, _entry("NOISE"))


# --- the classifier ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("narrative", "code"),
    [
        ("Mein Vater atmet nicht mehr!!", "CARDIAC"),
        ("He collapsed and isn't breathing, we started CPR", "CARDIAC"),
        ("Sie reagiert nicht und atmet nicht", "CARDIAC"),
        ("Er ist bewusstlos, atmet aber", "UNCONSCIOUS"),
        ("I found a man lying on the pavement, he's not responding", "UNCONSCIOUS"),
        ("My son is having an asthma attack and can't breathe", "BREATHING"),
        ("He's clutching his chest, says it hurts", "CHEST-PAIN"),
        ("Starke Schmerzen in der Brust, strahlt in den Arm aus", "CHEST-PAIN"),
        ("Meine Frau kann plötzlich nicht mehr sprechen, Gesicht hängt auf einer Seite", "STROKE"),
        ("Oma ist gestürzt und kann nicht aufstehen", "FALL"),
        ("Er hat eine ganze Packung Tabletten geschluckt", "OVERDOSE"),
        ("Bienenstich, Gesicht schwillt an, Atemnot", "ALLERGY"),
        ("My wife is pregnant and her waters broke", "CHILDBIRTH"),
        ("Der Patient hat Fieber und Bauchschmerzen seit gestern", "SICK"),
        ("Es brennt im Dachstock, starker Rauch", "FIRE-STRUCT"),
        ("Küchenbrand im Mehrfamilienhaus", "FIRE-STRUCT"),
        ("Das Auto brennt auf dem Parkplatz", "FIRE-VEH"),
        ("Grass fire spreading on the hillside near Balzers", "FIRE-BRUSH"),
        ("Mülltonne brennt vor dem Schulhaus", "FIRE-OTHER"),
        ("Brandmeldeanlage hat ausgelöst im Industriegebiet", "FIRE-ALARM"),
        ("Fire alarm ringing in the school, no smoke visible", "FIRE-ALARM"),
        ("Smells like something is burning in the stairwell but I can't see any fire", "FIRE-SMOKE"),
        ("Im Treppenhaus riecht es nach Rauch", "FIRE-SMOKE"),
        ("Es riecht stark nach Gas im Keller", "GAS-LEAK"),
        ("Chemical smell and people coughing after a truck spilled barrels", "HAZMAT"),
        ("Keller steht unter Wasser nach dem Gewitter", "FLOOD"),
        ("Unfall mit Verletzten auf der Landstrasse in Schaan", "RTC-INJ"),
        ("Velofahrer von Auto angefahren", "RTC-INJ"),
        ("car crash on Landstrasse, driver trapped", "RTC-TRAP"),
        ("Auffahrunfall, niemand verletzt, nur Blechschaden", "RTC"),
        ("minor collision in the car park, nobody hurt", "RTC"),
        ("There is a tree lying across the road", "ROAD-HAZARD"),
        ("Auto fährt Schlangenlinien, Fahrer ist betrunken", "DRIVER"),
        ("Einbrecher sind gerade im Haus", "BURGLARY-NOW"),
        ("Someone is trying to break in through the back door", "BURGLARY-NOW"),
        ("Bei uns wurde eingebrochen als wir weg waren", "BURGLARY"),
        ("There was a break-in at our shop last night", "BURGLARY"),
        ("Tankstelle wurde gerade überfallen, Täter geflüchtet", "ROBBERY"),
        ("Schlägerei vor dem Restaurant, zwei Männer", "ASSAULT"),
        ("Mein Nachbar schlägt seine Frau, man hört Schreie", "DOMESTIC"),
        ("Someone is shooting in the street, I heard several shots", "WEAPON"),
        ("Mann mit Messer bedroht Passanten", "WEAPON"),
        ("Verdächtiger Mann schaut in Autos hinein", "SUSPICIOUS"),
        ("Jemand hat mein Velo gestohlen", "THEFT"),
        ("Meine Mutter (84) geht nicht ans Telefon seit zwei Tagen", "WELFARE"),
        ("Unser Sohn ist nicht nach Hause gekommen, vermisst seit gestern", "MISSING"),
        ("My neighbour's music has been loud for hours", "NOISE"),
        ("A dog has been locked in a hot car for an hour", "ANIMAL"),
        ("Person im Rhein abgetrieben", "WATER-RESCUE"),
        ("A child fell into the Rhine near Vaduz", "WATER-RESCUE"),
        ("Wanderer abgestürzt bei Malbun", "MOUNTAIN-RESCUE"),
        ("Lawine am Augstenberg, zwei Skifahrer verschüttet", "MOUNTAIN-RESCUE"),
        ("Nach dem Sturm ist ein Baum umgestürzt auf das Dach", "STORM"),
        ("Lift steckt zwischen zwei Stockwerken fest, Leute drin", "LIFT"),
        # What the burning thing is decides among the fires; where a person lies is no rescue of its own
        ("A car is burning in the parking lot, black smoke", "FIRE-VEH"),
        ("a truck caught fire", "FIRE-VEH"),
        ("smoke coming out of the house", "FIRE-STRUCT"),
        ("the field is burning", "FIRE-BRUSH"),
        ("man lying in the field near the river, he does not move", "UNCONSCIOUS"),
        ("a child fell into the pool", "WATER-RESCUE"),
    ],
)
def test_suggest_classifies_realistic_narratives(types, narrative, code):
    suggestion = types.suggest(narrative)
    assert suggestion is not None, narrative
    incident_type, confidence = suggestion
    assert incident_type.code == code, types.rank(narrative)[:3]
    assert 0 < confidence <= 1


@pytest.mark.parametrize("narrative", ["", "   ", "asdf qwertz", "Wie spät ist es?", "!!!", "***"])
def test_suggest_gives_nothing_for_empty_or_nonsense_text(types, narrative):
    assert types.suggest(narrative) is None


@pytest.mark.parametrize(
    "narrative",
    [
        "Familie Brandis bittet um Rückruf",  # "brand" inside a name
        "Herr Brandstetter aus der Gassenstrasse",  # "brand", "gas" at the start of longer words
        "Ich bin der Hauswart",  # German "bin" is not a rubbish bin
        "Scarlett has a question about her invoice",  # "car" inside a word
    ],
)
def test_keywords_match_whole_words_only(types, narrative):
    assert types.suggest(narrative) is None


def test_case_and_umlaut_spellings_are_the_same(types):
    for narrative in ("Unfall mit Verletzten", "UNFALL, VERLETZTE", "unfall verletzte"):
        assert types.suggest(narrative)[0].code == "RTC-INJ"
    for narrative in ("Überfall!", "UEBERFALL", "ueberfall", "uberfall"):
        assert types.suggest(narrative)[0].code == "ROBBERY"
    assert fold("Grüezi, ÄÖÜ Straße!  Café") == "gruzi aou strasse cafe"


def test_ties_go_to_the_more_urgent_type_with_a_low_confidence(types):
    incident_type, confidence = types.suggest("Es brennt!")  # every fire type knows "brennt"
    assert incident_type.code == "FIRE-STRUCT"
    assert confidence <= 0.5
    assert types.suggest("Unfall")[0].code == "RTC-INJ"
    assert types.suggest("Er ist bewusstlos")[0].code == "CARDIAC"  # until someone has checked breathing


def test_phrases_weigh_more_and_the_ranking_says_why(types):
    top = types.rank("Mein Vater atmet nicht mehr")[0]
    assert top.type.code == "CARDIAC" and top.matched == ("atmet nicht",) and top.points == 2
    assert types.rank("Wohnungsbrand")[0].points == 1.5  # the compound itself plus "*brand" at half weight
    strong = types.suggest("Es brennt im Dachstock, starker Rauch, Flammen aus dem Fenster")[1]
    weak = types.suggest("Es brennt im Dachstock")[1]
    assert strong > weak


@pytest.mark.parametrize("narrative", ["we are at the river", "the car park behind the church", "a field"])
def test_context_words_alone_type_nothing(types, narrative):
    """ "River", "car", "field" tell a water rescue, a vehicle fire, a brush fire from their neighbours once a
    keyword said what happened; alone they say nothing."""
    assert types.suggest(narrative) is None


def test_internal_types_are_never_suggested(types):
    assert not types.get("UNKNOWN").keywords and not types.get("TRANSFER").keywords
