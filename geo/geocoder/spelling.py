"""Spelling as typed: which of the names that fold alike the caller wrote, and slips that count as one."""

from rapidfuzz import fuzz
from rapidfuzz.distance import OSA, Levenshtein

from geo.geocoder.result import Candidate


def spelt_as(name: str, typed: str) -> bool:
    """Whether the query holds the name as the map spells it, umlauts as such or written out ("Boedastrasse")."""
    name = name.casefold()
    return name in typed or name.translate(_UMLAUTS_WRITTEN_OUT) in typed


_UMLAUTS_WRITTEN_OUT = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue"})


def swap_aware(typed: str, name: str, score: float) -> float:
    """The fuzzy score, with two neighbouring letters swapped counted as one slip (as one letter too many is)
    rather than two: "Lnadstrasse" is as near "Landstrasse" as "Landsstrasse" is."""
    if OSA.distance(typed, name, score_cutoff=1) == 1 and Levenshtein.distance(typed, name) == 2:
        return max(score, 100.0 * (1 - 1 / (len(typed) + len(name))))
    return score


def closest_spelling(found: list[Candidate], twins: set[str], typed: str) -> list[Candidate]:
    """Among streets whose names fold alike, the one spelt nearest the query as typed (umlauts kept apart
    from their plain vowels) ranks ahead: "Bödastass" is nearer "Bödastrasse" than "Bodastrasse"."""
    alike = [c for c in found if c.ref in twins]
    if not alike:
        return found
    typed = typed.translate(_UMLAUTS_WRITTEN_OUT)
    for key in {c.ref for c in alike}:
        group = [c for c in alike if c.ref == key]
        near = {
            c.label: fuzz.partial_ratio(c.label.split(",")[0].casefold().translate(_UMLAUTS_WRITTEN_OUT), typed)
            for c in group
        }
        best = max(near.values())
        if sum(1 for v in near.values() if v == best) == 1:
            for c in group:
                c.rank += 3 if near[c.label] == best else 0
    return found
