"""The geocoder: from what a caller says to a point, with a confidence that means what it says.

Every reading of the query yields candidates (addresses, interpolated numbers, streets, intersections,
places) with a text score and their own confidence. The answer is the strongest candidate; its confidence is
then capped by how close the strongest candidate elsewhere comes, so that two near-equal answers in
different places are never reported as sure.
"""

import re

import shapely
from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA
from shapely import ops

from geo.geocoder.coords import parse_coordinates
from geo.geocoder.index import GeocoderIndex, StreetEntity
from geo.geocoder.normalize import clean, name_key, words
from geo.geocoder.numbers import locate_number, street_confidence
from geo.geocoder.query import Reading, _municipality, has_letters, intersection_parts, readings
from geo.geocoder.result import Candidate, GeocodeResult, ReverseResult
from geo.geocoder.spelling import closest_spelling, spelt_as, swap_aware
from geo.geocoder.vocabulary import CATEGORY_WORDS, LOCATIVES, TWO_WORD_CATEGORIES

MAX_QUERY = 300
SAME_PLACE_M = 50.0
# A name found in another municipality than the one the caller named: more likely not what was meant.
ELSEWHERE = 0.5
# A place found for a query that also gives a house number: the number is left unexplained.
NUMBER_UNEXPLAINED = 0.45
# A place's name of several words that is the whole query, every word: as much as the municipality named.
WHOLE_NAME = 12.0
# The least confidence of a fuzzy street name whose house number is on it in the municipality named.
CORROBORATED = 0.4


def text_confidence(score: float, exact: bool) -> float:
    """How sure a name match is by its spelling alone: exact after folding, or a fuzzy score."""
    # 95 (one slip in a long name) → 0.82, 90 → 0.64, 85 (a name four letters off) → 0.46: below 0.5 a
    # near-miss is as likely another name as a misspelling of this one.
    return 0.97 if exact else max(0.0, min(0.85, (score - 72.0) / 28.0))


class Geocoder:
    def __init__(self, index: GeocoderIndex) -> None:
        self.ix = index
        # Keys that more than one spelling folds to ("Bodastrasse", "Bödastrasse"): the spelling typed decides.
        self.twins = {
            index.streets[g[0]].key for g in index.street_groups if len({index.streets[i].name for i in g}) > 1
        }

    # --- forward -------------------------------------------------------------------------------------
    def geocode(self, q: str, limit: int = 5) -> GeocodeResult:
        text = clean(q)[:MAX_QUERY]
        result = GeocodeResult(q=text)
        if not has_letters(text) and not re.search(r"\d", text):
            return result
        parsed = parse_coordinates(text)
        if parsed:
            return self._coordinates(result, *parsed)
        if not has_letters(text):
            return result
        found: list[Candidate] = []
        for a, b, tail in intersection_parts(text):
            found += self._intersections(a, b, tail)
        for reading in readings(text, self.ix.municipalities, self.ix.postcodes):
            found += self._streets(reading, text.casefold())
            found += self._places(reading, text.casefold())
        return self._decide(result, found, limit)

    def _point(self, match, x, y, label, confidence, municipality, rank, ref) -> Candidate:
        lon, lat = self.ix.projection.to_lonlat(x, y)
        return Candidate(match, lat, lon, label, confidence, municipality, x, y, rank, ref)

    def _street_hits(
        self, key: str, limit: int, cutoff: float, raw: str | None = None
    ) -> list[tuple[StreetEntity, float]]:
        if len(key) < 3:
            return []
        hits = process.extract(key, self.ix.street_keys, scorer=fuzz.ratio, score_cutoff=cutoff, limit=limit)
        scores = {g: swap_aware(key, found, score) for found, score, g in hits}
        if raw and raw != key:  # the name as typed, where a transliteration may have eaten a letter
            keys = self.ix.street_raw_keys
            for found, score, j in process.extract(raw, keys, scorer=fuzz.ratio, score_cutoff=cutoff, limit=limit):
                g = self.ix.street_raw_groups[j]
                scores[g] = max(scores.get(g, 0.0), swap_aware(raw, found, score))
        return [(self.ix.streets[i], score) for g, score in scores.items() for i in self.ix.street_groups[g]]

    def _streets(self, r: Reading, typed: str = "") -> list[Candidate]:
        out = []
        hits = self._street_hits("".join(r.name_words), 6, 75, "".join(r.raw_words))
        if not any(s.municipality == r.municipality and r.number in s.numbers for s, _ in hits):
            hits += self._two_slips(r)  # only where no nearer name holds the number there
        for street, score in hits:
            conf = text_confidence(score, score == 100)
            rank = score + _municipality_bonus(r.municipality, street.municipality)
            if spelt_as(street.name, typed):  # spelt as the map has it: "Bödastrasse" over "Bodastrasse"
                rank += 1
            if r.municipality and street.municipality != r.municipality:
                conf *= ELSEWHERE
            where = f", {street.municipality}" if street.municipality else ""
            if r.number:
                located = locate_number(street, r.number)
                if located:
                    kind, x, y, number_conf = located
                    if kind == "address" and r.municipality == street.municipality and score < 100:
                        # The number is on this street where the caller said: two facts agree, so even a name
                        # two slips off is worth offering as the answer, if not as a sure one.
                        conf = min(0.85, max(conf + 0.15, CORROBORATED))
                    label = f"{street.name} {r.number}{' ' + r.unit if r.unit else ''}{where}"
                    out.append(
                        self._point(
                            kind,
                            x,
                            y,
                            label,
                            min(conf, number_conf),
                            street.municipality,
                            rank + (6 if kind == "address" else 3),
                            street.key,
                        )
                    )
                    continue
                conf, rank = (
                    min(conf, NUMBER_UNEXPLAINED),
                    rank - 4,
                )  # the number is not on this street: the street at most
            x, y = street.anchor()
            conf = min(conf * 0.95 if not r.number else conf, street_confidence(street))
            out.append(
                self._point("street", x, y, f"{street.name}{where}", conf, street.municipality, rank, street.key)
            )
        return closest_spelling(out, self.twins, typed)

    def _two_slips(self, r: Reading) -> list[tuple[StreetEntity, float]]:
        """Streets two slips from the name ("Sfdätle" for "Städtle") that hold the house number in the municipality
        named: too far off for the name alone, but the three facts agreeing make it worth offering."""
        key = "".join(r.name_words)
        if not (r.number and r.municipality) or len(key) < 6:
            return []
        hits = process.extract(key, self.ix.street_keys, scorer=OSA.distance, score_cutoff=2, limit=4)
        return [
            (street, fuzz.ratio(key, found))
            for found, slips, g in hits
            if slips == 2
            for street in (self.ix.streets[i] for i in self.ix.street_groups[g])
            if street.municipality == r.municipality and r.number in street.numbers
        ]

    def _places(self, r: Reading, typed: str = "") -> list[Candidate]:
        ws = list(r.name_words)
        key = "".join(ws)
        if r.municipality and key == name_key(r.municipality) and len(ws) == len(words(r.municipality)):
            # "Grkossteg 74, Triesenberg" read as "in Grosssteg: Triesenberg" names only the municipality again
            return []
        scored: dict[int, tuple[float, float, float]] = {}  # place index -> (rank, confidence, score)
        # Every word of the query, none taken for the municipality, is a place's name of several words ("Lindex
        # Hakaniemi"): surer than a reading that takes its last word for the settlement and finds "Lindex" elsewhere.
        whole = WHOLE_NAME if r.municipality is None and not r.number and len(ws) > 1 else 0.0
        for _, score, i in process.extract(key, self.ix.place_keys, scorer=fuzz.ratio, score_cutoff=80, limit=8):
            conf = text_confidence(score, score == 100) * (0.98 if score == 100 else 1.0)
            scored[i] = (score + (whole if score == 100 else 0.0), conf, score)
        if len(ws) > 1 and ws[0] in LOCATIVES:  # "im Gorn", "auf Gapfahl": a field or area named with its preposition
            bare = "".join(ws[1:])
            for _, score, i in process.extract(bare, self.ix.place_keys, scorer=fuzz.ratio, score_cutoff=85, limit=4):
                if i not in scored or scored[i][0] < score - 2:
                    scored[i] = (score - 2, text_confidence(score, score == 100) * 0.95, score)
        for i, score in self._places_named_in_part(ws).items():
            if i not in scored:
                scored[i] = (score - 8, 0.75 * score / 100, score)  # the query names part of the place's name
        out = []
        unexplained = 6 if r.number else 0  # a place leaves the house number of the query unexplained
        for i, (rank, conf, _) in scored.items():
            place = self.ix.places[i]
            rank -= unexplained
            if spelt_as(place.name, typed):  # spelt as the map has it, as for streets
                rank += 1
            if r.municipality and place.municipality != r.municipality:
                conf *= ELSEWHERE
            if r.number:
                conf = min(conf, NUMBER_UNEXPLAINED)
            out.append(
                self._place_candidate(place, conf, rank + _municipality_bonus(r.municipality, place.municipality))
            )
        return out + self._category_places(ws, r.municipality)

    def _places_named_in_part(self, ws: list[str]) -> dict[int, float]:
        """Places whose name holds every word of the query (each word spelt nearly right): "Landesspital"
        names "Liechtensteinisches Landesspital", but "Landstrasse Vaduz" does not name the place "Vaduz"."""
        if not ws or sum(map(len, ws)) < 4:
            return {}
        common: dict[int, float] | None = None
        for word in ws:
            hits = process.extract(word, self.ix.place_vocab, scorer=fuzz.ratio, score_cutoff=85, limit=10)
            places: dict[int, float] = {}
            for _, score, v in hits:
                for i in self.ix.vocab_places[v]:
                    places[i] = max(places.get(i, 0.0), score)
            common = places if common is None else {i: min(s, places[i]) for i, s in common.items() if i in places}
            if not common:
                return {}
        return common

    def _category_places(self, ws: list[str], municipality: str | None) -> list[Candidate]:
        glued = [TWO_WORD_CATEGORIES.get(pair) for pair in zip(ws, ws[1:], strict=False)]
        kinds = {CATEGORY_WORDS[w] for w in ws + [g for g in glued if g] if w in CATEGORY_WORDS}
        leftover = [w for w in ws if w not in CATEGORY_WORDS and not any(w in pair for pair in TWO_WORD_CATEGORIES)]
        if len(kinds) != 1 or leftover:
            return []
        kind = kinds.pop()
        places = [
            p for p in self.ix.places if p.kind == kind and (municipality is None or p.municipality == municipality)
        ]
        clusters = _clusters([(p.x, p.y) for p in places])
        conf = 0.9 if len(clusters) == 1 else 0.7
        return [
            self._place_candidate(places[members[0]], conf, 92 + (8 if municipality else 0)) for members in clusters
        ]

    def _place_candidate(self, place, conf: float, rank: float) -> Candidate:
        label = place.name + (f", {place.municipality}" if place.municipality else "")
        return self._point("poi", place.x, place.y, label, conf, place.municipality, rank, ("place", place.name))

    def _intersections(self, a: str, b: str, tail: str | None) -> list[Candidate]:
        municipality = _municipality(words(tail), self.ix.municipalities) if tail else None
        wa, wb = words(a), words(b)
        if tail is None:  # "Ecke A B Schaan", "corner of A and B Schaan": the municipality ends the last name
            for size in (2, 1):
                if len(wb) > size and _municipality(wb[-size:], self.ix.municipalities):
                    municipality, wb = _municipality(wb[-size:], self.ix.municipalities), wb[:-size]
                    break
        out = []
        hits_a = self._street_hits(name_key(wa), limit=4, cutoff=80)
        hits_b = self._street_hits(name_key(wb), limit=4, cutoff=80)
        for sa, score_a in hits_a:
            for sb, score_b in hits_b:
                if sa.key == sb.key or sa.line is None or sb.line is None or sa.line.distance(sb.line) > 25:
                    continue
                meeting = sa.line.intersection(sb.line)
                if meeting.is_empty:
                    p1, p2 = ops.nearest_points(sa.line, sb.line)
                    points = [((p1.x + p2.x) / 2, (p1.y + p2.y) / 2)]
                else:
                    points = shapely.get_coordinates(meeting).tolist()
                score = min(score_a, score_b)
                conf = text_confidence(score, score_a == 100 and score_b == 100)
                if municipality and municipality not in (sa.municipality, sb.municipality):
                    conf *= ELSEWHERE
                where = sa.municipality or sb.municipality
                for members in _clusters(points):
                    x, y = points[members[0]]
                    label = f"{sa.name} / {sb.name}" + (f", {where}" if where else "")
                    # Both names exact: every word of the query is explained, as no single name read from it is.
                    both = 3 if score_a == score_b == 100 else 0
                    rank = score + 6 + both + _municipality_bonus(municipality, where)
                    out.append(self._point("intersection", x, y, label, conf, where, rank, (sa.key, sb.key)))
        return out

    def _coordinates(self, result: GeocodeResult, lat: float, lon: float, order_known: bool) -> GeocodeResult:
        x, y = self.ix.projection.to_xy(lon, lat)
        inside = self.ix.in_service_area(float(x), float(y))
        confidence = 0.99
        if not inside and not order_known:  # "9.52, 47.14": longitude first, a common slip
            sx, sy = self.ix.projection.to_xy(lat, lon)
            if self.ix.in_service_area(float(sx), float(sy)):
                lat, lon, inside, confidence = lon, lat, True, 0.8
        label = f"{lat:.5f}, {lon:.5f}" + ("" if inside else " (outside the service area)")
        municipality = self.reverse(lat, lon).municipality if inside else None
        candidate = Candidate("coordinates", lat, lon, label, confidence, municipality)
        result.match, result.lat, result.lon, result.label = "coordinates", lat, lon, label
        result.confidence, result.municipality, result.in_service_area = confidence, municipality, inside
        result.candidates = [candidate]
        return result

    def _decide(self, result: GeocodeResult, found: list[Candidate], limit: int) -> GeocodeResult:
        found.sort(key=lambda c: (-c.rank, -c.confidence, c.label))
        distinct: list[Candidate] = []
        for c in found:  # one candidate per place: the same street found by two readings counts once
            if not any(_near(c, d) and (c.match == d.match or c.ref == d.ref) for d in distinct):
                distinct.append(c)
        if not distinct:
            return result
        # The query is a candidate's own label (a call-taker picked it from the suggestions and it came back as
        # the location): that place is meant, with the confidence it has on its own. The rivals it would
        # otherwise be weighed against are what the pick ruled out.
        picked = next((c for c in distinct if is_label(result.q, c.label)), None)
        if picked is not None:
            distinct.remove(picked)
            distinct.insert(0, picked)
        best = distinct[0]
        rivals = [c for c in distinct[1:] if not _near(c, best) and not _names_its_street(c, best)]
        if picked is not None:
            rivals = []
        cap = 1.0
        if rivals:
            gap = best.rank - rivals[0].rank
            cap = 0.6 if gap < 3 else 0.8 if gap < 8 else 0.88 if gap < 15 else 1.0
        if best.match in ("address", "interpolated", "street") and any(
            c.ref == best.ref and c.municipality != best.municipality and c.rank >= best.rank - 12 for c in rivals
        ):
            cap = min(cap, 0.85)  # the same street name elsewhere, none named
        best.confidence = round(min(best.confidence, cap), 3)
        # The answer and the others are the strongest by their evidence; the others follow from the surest down,
        # none surer than the answer.
        for c in distinct[1:limit]:
            c.confidence = round(min(c.confidence, best.confidence), 3)
        result.candidates = [best, *sorted(distinct[1:limit], key=lambda c: -c.confidence)]
        if best.confidence < 0.3 and picked is None:
            return result
        result.match, result.lat, result.lon, result.label = best.match, best.lat, best.lon, best.label
        result.confidence, result.municipality = best.confidence, best.municipality
        result.in_service_area = self.ix.in_service_area(best.x, best.y)
        return result

    def in_service_area(self, lat: float, lon: float) -> bool:
        x, y = self.ix.projection.to_xy(lon, lat)
        return self.ix.in_service_area(float(x), float(y))

    # --- reverse -------------------------------------------------------------------------------------
    def reverse(self, lat: float, lon: float) -> ReverseResult:
        x, y = (float(v) for v in self.ix.projection.to_xy(lon, lat))
        point = shapely.Point(x, y)
        inside = self.ix.in_service_area(x, y)
        # The boundary holding the point decides, not the nearest address's tag (a pin dragged across a border).
        municipality = next(
            (name for name, shape in self.ix.municipality_shapes.items() if shape.contains(point)), None
        )
        found = self.ix.address_tree.query_nearest(point, max_distance=60, return_distance=True)
        if len(found[0]):
            i, distance = int(found[0][0]), float(found[1][0])
            label, address_municipality = self.ix.address_labels[i]
            return ReverseResult(lat, lon, "address", label, distance, municipality or address_municipality, inside)
        found = self.ix.street_tree.query_nearest(point, max_distance=150, return_distance=True)
        if len(found[0]):
            street = self.ix.streets[self.ix.street_tree_ids[int(found[0][0])]]
            label = street.name + (f", {street.municipality}" if street.municipality else "")
            return ReverseResult(
                lat, lon, "street", label, float(found[1][0]), municipality or street.municipality, inside
            )
        if municipality:
            return ReverseResult(lat, lon, "municipality", municipality, None, municipality, inside)
        return ReverseResult(lat, lon, "none", None, None, None, inside)


def is_label(q: str, label: str | None) -> bool:
    """Whether a query is this label as the geocoder wrote it ("Landstrasse 100, Schaan"), case aside: the
    comma that parts the municipality is the geocoder's, so a caller's own words rarely match by chance."""
    return label is not None and "," in label and clean(q).casefold() == clean(label).casefold()


def _municipality_bonus(given: str | None, actual: str | None) -> float:
    if given is None:
        return 0.0
    return 8.0 if given == actual else -12.0


def _names_its_street(place: Candidate, best: Candidate) -> bool:
    """A place named exactly like the street of the answer ("Städtle" for "Städtle 23") is that street, not
    a rival answer elsewhere."""
    return (
        place.match == "poi"
        and best.match in ("address", "interpolated")
        and isinstance(place.ref, tuple)
        and name_key(place.ref[1]) == best.ref
    )


def _near(a: Candidate, b: Candidate) -> bool:
    return (a.x - b.x) ** 2 + (a.y - b.y) ** 2 <= SAME_PLACE_M**2


def _clusters(points: list[tuple[float, float]]) -> list[list[int]]:
    """Groups points closer than SAME_PLACE_M to a group's first point; returns member indices."""
    groups: list[list[int]] = []
    for i, (x, y) in enumerate(points):
        for g in groups:
            gx, gy = points[g[0]]
            if (x - gx) ** 2 + (y - gy) ** 2 <= SAME_PLACE_M**2:
                g.append(i)
                break
        else:
            groups.append([i])
    return groups
