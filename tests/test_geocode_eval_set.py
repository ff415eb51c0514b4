"""The evaluation set itself: its judge's rules (pure) and its generation on the bundled map (deterministic per seed,
every form with cases, the earlier forms unchanged by the later ones)."""

import re
from collections import Counter
from dataclasses import dataclass, field

import pytest
from rapidfuzz.distance import OSA

from tests.geocode_cases import generate_cases
from tests.geocode_hard_cases import CORNERS
from tests.geocode_judge import (
    HARD_FORMS,
    Case,
    band_of,
    haversine_m,
    is_confident_wrong,
    is_ranked,
    is_right,
    street_confidence_cap,
)

MUNICIPALITIES = ("Vaduz", "Schaan", "Triesen", "Balzers", "Eschen", "Mauren", "Triesenberg", "Ruggell", "Gamprin")
MUNICIPALITIES += ("Schellenberg", "Planken")
# Fewest cases each new form must yield on the bundled map with 40 per form: the map holds one house on a place
# without a street (four writings of it) and one interpolation way without a street (24 numbers).
MINIMUM = {"addr_place": 4, "interp_way": 20, **{f: 30 for f in HARD_FORMS if f not in ("addr_place", "interp_way")}}


@dataclass
class Answer:
    match: str = "address"
    lat: float | None = 47.14
    lon: float | None = 9.52
    confidence: float = 0.9
    label: str | None = None
    in_service_area: bool | None = True
    candidates: list = field(default_factory=list)


def _house(**kw) -> Case:
    return Case("exact", "Stadtle 12, Vaduz", "address", 47.14, 9.52, 50.0, **kw)


# A 3 km street running north along lon 9.52 from lat 47.10; the house (the truth point) at its south end.
LONG_STREET = "MULTILINESTRING((9.52 47.10, 9.52 47.127))"


def _past_end(length_m: float) -> Case:
    q = "Landstrasse 398, Triesen"
    return Case("past_end", q, "street", 47.10, 9.52, 50.0, LONG_STREET, street_length_m=length_m)


def test_wrong_at_half_or_more_is_confidently_wrong():
    far = dict(lat=47.15, lon=9.52)  # 1.1 km off
    assert is_confident_wrong(_house(), Answer(**far, confidence=0.5))
    assert not is_confident_wrong(_house(), Answer(**far, confidence=0.49))
    assert not is_right(_house(), Answer(**far, confidence=0.49))
    assert is_right(_house(), Answer(lat=47.1402, lon=9.52, confidence=0.99))  # 22 m off
    assert not is_confident_wrong(_house(), Answer(lat=47.1402, lon=9.52, confidence=0.99))


def test_nothing_to_find_is_confidently_wrong_only_when_an_answer_claims_it():
    nothing = Case("nonexistent", "Zauberwaldweg 3", "none", None, None, 50.0)
    assert is_right(nothing, Answer(match="none", lat=None, lon=None, confidence=0.0))
    assert is_confident_wrong(nothing, Answer(confidence=0.6))
    assert not is_confident_wrong(nothing, Answer(confidence=0.3)) and is_right(nothing, Answer(confidence=0.3))


def test_a_street_level_answers_confidence_falls_with_the_streets_length():
    assert street_confidence_cap(400) == float("inf")
    assert street_confidence_cap(800) == 0.7
    assert street_confidence_cap(3000) == 0.5
    mid = dict(match="street", lat=47.11, lon=9.52)  # on the street, 1.1 km from the house
    assert haversine_m(47.10, 9.52, 47.11, 9.52) > 1000
    assert is_confident_wrong(_past_end(3000), Answer(**mid, confidence=0.55))
    assert is_right(_past_end(3000), Answer(**mid, confidence=0.45))
    assert not is_confident_wrong(_past_end(3000), Answer(**mid, confidence=0.45))
    assert is_right(_past_end(800), Answer(**mid, confidence=0.6))  # a shorter street may say more
    assert not is_right(_past_end(800), Answer(**mid, confidence=0.7))
    near = dict(match="street", lat=47.1015, lon=9.52)  # 167 m from the house: a fair point whatever the length
    assert is_right(_past_end(3000), Answer(**near, confidence=0.9))
    off = dict(match="street", lat=47.11, lon=9.53)  # 760 m beside the street
    assert is_confident_wrong(_past_end(300), Answer(**off, confidence=0.5))


def test_a_reverse_label_must_name_the_street():
    case = Case("reverse", "reverse", "reverse", 47.1185, 9.5708, 0.0, street_names=("Grosssteg",))
    assert not is_right(case, Answer(label="1021, Triesenberg")) and is_confident_wrong(case, Answer(label="1021"))
    assert is_right(case, Answer(label="Grosssteg 1021, Triesenberg"))
    assert is_right(case, Answer(label="GROSSSTEG 1021, Triesenberg"))
    gassle = Case("reverse", "reverse", "reverse", 47.1, 9.5, 0.0, street_names=("Gässle", "Dorfstrasse"))
    assert is_right(gassle, Answer(label="39A/B Dorfstrasse, Triesen"))
    assert not is_right(gassle, Answer(label="39A/B, Triesen"))
    assert not is_right(gassle, Answer(label=None))


def test_candidates_must_come_in_non_increasing_confidence():
    c = lambda x: Answer(confidence=x)  # noqa: E731
    assert is_ranked(Answer(confidence=0.9, candidates=[c(0.9), c(0.7), c(0.7), c(0.1)]))
    assert is_ranked(Answer(confidence=0.0, candidates=[]))
    assert not is_ranked(Answer(confidence=0.7, candidates=[c(0.7), c(0.6), c(0.65)]))
    assert not is_ranked(Answer(confidence=0.6, candidates=[c(0.7), c(0.6)]))  # the top is not the best


def test_confidence_bands():
    assert [band_of(x) for x in (0.0, 0.29, 0.3, 0.5, 0.69, 0.7, 0.9, 1.0, None)] == [
        "0.0-0.3",
        "0.0-0.3",
        "0.3-0.5",
        "0.5-0.7",
        "0.5-0.7",
        "0.7-0.9",
        "0.9-1.0",
        "0.9-1.0",
        "0.0-0.3",
    ]


# --- generated from the bundled map ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cases(settings, imported_map) -> dict[int, list[Case]]:
    return {seed: generate_cases(settings.libpq_url, seed=seed, per_form=40) for seed in (7, 11)}


def test_the_same_seed_gives_the_same_cases(settings, cases):
    assert generate_cases(settings.libpq_url, seed=7, per_form=40) == cases[7]
    for form in ("country", "swapped", "two_errors", "past_end", "area", "corner", "reverse"):
        assert [c.q for c in cases[7] if c.form == form] != [c.q for c in cases[11] if c.form == form]


def test_the_new_forms_leave_the_earlier_forms_unchanged(settings, cases):
    earlier = generate_cases(settings.libpq_url, seed=7, per_form=40, hard=False)
    assert earlier == [c for c in cases[7] if c.form not in HARD_FORMS]


@pytest.mark.parametrize("seed", [7, 11])
def test_every_new_form_has_cases_on_the_bundled_map(cases, seed):
    counts = Counter(c.form for c in cases[seed])
    assert {f: counts[f] for f in HARD_FORMS if counts[f] < MINIMUM[f]} == {}


def test_the_cases_say_what_their_form_promises(cases):
    by = lambda form: [c for s in cases for c in cases[s] if c.form == form]  # noqa: E731
    assert {c.q for c in by("addr_place")} >= {"Silum 6", "Silum 6, Triesenberg"}
    assert all(re.search(r"Liechtenstein|FL|LI", c.q) for c in by("country"))
    for c in by("two_errors"):  # "Stadtle 12 Vadus": the municipality one slip from a real one
        muni = re.fullmatch(r".+? \d+\w?,? (\S+)", c.q).group(1)
        assert min(OSA.distance(muni, m) for m in MUNICIPALITIES) == 1
    for c in by("past_end"):
        assert c.street_length_m > 0 and c.truth_wkt.startswith("MULTILINESTRING")
    assert {c.q.split()[0] for c in by("interp_way")} & {"Grosssteg"}
    assert all(c.street_names for c in by("reverse"))
    used = {w for c in by("corner") for w in CORNERS if re.fullmatch(_pattern(w), c.q)}
    assert used == set(CORNERS)


def _pattern(template: str) -> str:
    return re.escape(template).replace(r"\{a\}", ".+").replace(r"\{b\}", ".+").replace(r"\{t\}", r"\S+")
