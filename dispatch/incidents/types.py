"""Incident types and their response plans (types.toml), and a keyword classifier for narratives."""

import re
import tomllib
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

from dispatch.config import get_settings

TYPES_FILE = Path(__file__).with_name("types.toml")
CAPABILITIES = frozenset({"engine", "ladder", "rescue", "tanker", "ambulance", "police"})
GROUPS = frozenset({"fire", "medical", "police", "traffic", "hazard", "service"})
UNKNOWN = "UNKNOWN"
_FIELDS = {"code", "name", "priority", "group", "plan", "keywords", "public", "on_scene_min", "transport", "share"}
_OPTIONAL = {"questions", "names", "context", "apco"}
# An APCO ANS 2.103 common incident type code as the EIDO's Incident Type - Common registry lists it.
_APCO = re.compile(r"[0-9A-Z]{2,12}")
# The languages of a type's keywords written as a plain list (the file's own, from before keywords per language).
LIST_LANGUAGES = ("de", "en")
_LANGUAGE = re.compile(r"[a-z]{2}")
# Key questions are read out during a call: a few short ones, or nobody gets through them.
MAX_QUESTIONS = 8
MAX_QUESTION_LEN = 200
_CODE = re.compile(r"[A-Z][A-Z0-9]*(-[A-Z0-9]+)*")
# Evidence of this many words makes a suggestion fully confident (before the runner-up is considered).
_FULL_EVIDENCE = 3.0


@dataclass(frozen=True)
class Slot:
    capability: str
    count: int


@dataclass(frozen=True)
class IncidentType:
    code: str
    name: str
    priority: int
    group: str
    plan: tuple[Slot, ...]
    keywords: tuple[str, ...]
    public: bool
    on_scene_min: float
    transport: bool
    share: float = 0.0  # calls of this type per thousand, for the simulator
    questions: tuple[str, ...] = ()  # what the call-taker asks a caller reporting this type, in order
    names: tuple[tuple[str, str], ...] = ()  # (language, name) besides the English `name`
    # Words that tell this type from its neighbours once a keyword has said what happened ("car" for a vehicle
    # fire, "river" for a water rescue), but say nothing alone: "a man lying near the river" is no water rescue.
    context: tuple[str, ...] = ()
    apco: str | None = None  # the APCO common incident type it maps to, where one does (NENA EIDO's common type)

    def name_in(self, language: str) -> str:
        """Its name in a language ("fi": "Sydänpysähdys"), the English name where it has none."""
        return dict(self.names).get(language, self.name)

    def plan_dict(self) -> dict[str, int]:
        return {slot.capability: slot.count for slot in self.plan}


@dataclass(frozen=True)
class Suggestion:
    type: IncidentType
    points: float
    matched: tuple[str, ...]  # the keywords found, so a call-taker can see why


def fold(text: str, *, word: str = "[a-z0-9]+") -> str:
    """Lower case, accents and umlauts folded ("Ü", "ü", "ue" all become "u"), words separated by one space.

    Callers type umlauts as "ue" as often as "ü", so narratives and keywords are folded the same way."""
    text = unicodedata.normalize("NFKD", text.casefold())
    text = "".join(c for c in text if not unicodedata.combining(c))
    text = text.replace("ae", "a").replace("oe", "o").replace("ue", "u")
    return " ".join(re.findall(word, text))


def _fold_keyword(keyword: str) -> str:
    return fold(keyword, word=r"[a-z0-9*]+")


def _matcher(keyword: str) -> tuple[re.Pattern[str], float]:
    """A whole-word pattern for a keyword and its weight: one per word, half for a word with a "*"."""
    parts, weight = [], 0.0
    for word in _fold_keyword(keyword).split():
        core = word.strip("*")
        parts.append(
            ("[a-z0-9]*" if word.startswith("*") else "")
            + re.escape(core)
            + ("[a-z0-9]*" if word.endswith("*") else "")
        )
        weight += 0.5 if "*" in word else 1.0
    return re.compile(r"(?<![a-z0-9])" + " ".join(parts) + r"(?![a-z0-9])"), weight


class IncidentTypes:
    """The table of incident types, loaded once; looked up by code and asked for suggestions."""

    def __init__(self, types: dict[str, IncidentType]) -> None:
        self._types = {t.code.upper(): t for t in types.values()}
        self._matchers = {code: [(kw, *_matcher(kw)) for kw in t.keywords] for code, t in self._types.items()}
        self._context = {code: [(kw, *_matcher(kw)) for kw in t.context] for code, t in self._types.items()}

    @classmethod
    def load(
        cls, path: Path | None = None, languages: Sequence[str] = LIST_LANGUAGES, names_language: str | None = None
    ) -> "IncidentTypes":
        """Reads and validates a types file, with the keywords of the centre's languages (every language's are
        validated) and the names of `names_language` where the file gives them (the file's own name is then kept
        as the English one, "en"); a bad entry raises ValueError naming it."""
        path = path or TYPES_FILE
        with path.open("rb") as fh:
            raw = tomllib.load(fh)
        entries = raw.get("type", [])
        if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
            raise ValueError(f"{path.name}: incident types must be [[type]] tables")
        types: dict[str, IncidentType] = {}
        for i, entry in enumerate(entries):
            t = _parse(entry, f"{path.name} type #{i + 1}", tuple(languages))
            if names_language and names_language in dict(t.names):
                t = replace(t, name=t.name_in(names_language), names=(("en", t.name), *t.names))
            if t.code in types:
                raise ValueError(f"{path.name}: duplicate incident type code {t.code!r}")
            types[t.code] = t
        if UNKNOWN not in types:
            raise ValueError(f"{path.name}: the {UNKNOWN} type is missing (calls nobody could classify need it)")
        return cls(types)

    def get(self, code: str) -> IncidentType | None:
        return self._types.get(code.strip().upper())

    @property
    def unknown(self) -> IncidentType:
        """The type of a call nobody could classify (load() refuses a table without it)."""
        return self._types[UNKNOWN]

    def __iter__(self) -> Iterator[IncidentType]:
        return iter(self._types.values())

    def __len__(self) -> int:
        return len(self._types)

    def codes(self) -> list[str]:
        return list(self._types)

    def by_apco(self, apco: str) -> IncidentType | None:
        """The type an APCO common incident type code maps to; of several (BURGLARY-NOW, BURGLARY), the most urgent
        (a wrong priority 1 costs less than a missed one), then the first in the table."""
        found = [t for t in self._types.values() if t.apco == apco.strip().upper()]
        return min(found, key=lambda t: t.priority) if found else None

    def rank(self, narrative: str) -> list[Suggestion]:
        """Every type with at least one keyword in the narrative, best first.

        A type scores the weights of its distinct keywords found as whole words or phrases, and of its context
        words once a keyword is found. Ties go to the more urgent type (a wrong priority 1 costs less than a
        missed one), then to the code."""
        text = fold(narrative)
        found = []
        for code, matchers in self._matchers.items():
            hits = [(kw, weight) for kw, pattern, weight in matchers if pattern.search(text)]
            if hits:
                hits += [(kw, weight) for kw, pattern, weight in self._context[code] if pattern.search(text)]
                t = self._types[code]
                found.append(Suggestion(t, sum(w for _, w in hits), tuple(kw for kw, _ in hits)))
        return sorted(found, key=lambda s: (-s.points, s.type.priority, s.type.code))

    def suggest(self, narrative: str) -> tuple[IncidentType, float] | None:
        """The most likely type and a confidence in 0..1, or None when no keyword matches.

        Confidence = evidence (points, saturating at three words) x share of the best over best plus
        runner-up, so a narrative that fits two types equally well is at most 0.5."""
        ranked = self.rank(narrative)
        if not ranked:
            return None
        best = ranked[0].points
        runner_up = ranked[1].points if len(ranked) > 1 else 0.0
        confidence = min(1.0, best / _FULL_EVIDENCE) * best / (best + runner_up)
        return ranked[0].type, round(confidence, 2)


def _check_plan(plan: object, where: str) -> None:
    if not isinstance(plan, dict):
        raise ValueError(f"{where}: plan must be a table of capability = count")
    for capability, count in plan.items():
        if capability not in CAPABILITIES:
            raise ValueError(f"{where}: unknown capability {capability!r} (known: {', '.join(sorted(CAPABILITIES))})")
        if type(count) is not int or count < 1:
            raise ValueError(f"{where}: count {count!r} for {capability!r} must be a whole number >= 1")


def _keywords(keywords: object, where: str, languages: tuple[str, ...]) -> tuple[str, ...]:
    """The keywords of the centre's languages: a plain list is German and English (LIST_LANGUAGES); a table holds
    a list per language ({ de = [...], fi = [...] }). A word two languages share is counted once."""
    if isinstance(keywords, list):
        _check_keywords(keywords, where)
        chosen = keywords if set(languages) & set(LIST_LANGUAGES) else []
    elif isinstance(keywords, dict):
        chosen = []
        for language, words in keywords.items():
            if not _LANGUAGE.fullmatch(language):
                raise ValueError(f"{where}: keywords of {language!r}: a language is a two-letter code like 'fi'")
            _check_keywords(words, f"{where} ({language})")
            chosen += words if language in languages else []
    else:
        raise ValueError(f"{where}: keywords must be a list of words or phrases, or a table of them per language")
    out: dict[str, str] = {}
    for keyword in chosen:
        out.setdefault(_fold_keyword(keyword), keyword.strip().lower())
    return tuple(out.values())


def _names(names: object, where: str) -> tuple[tuple[str, str], ...]:
    if not isinstance(names, dict) or not all(
        isinstance(n, str) and n.strip() and _LANGUAGE.fullmatch(lang) for lang, n in names.items()
    ):
        raise ValueError(f'{where}: names must be a table of language = name, e.g. {{ fi = "Tulipalo" }}')
    return tuple((lang, n.strip()) for lang, n in names.items())


def _check_keywords(keywords: object, where: str) -> None:
    if not isinstance(keywords, list) or not all(isinstance(k, str) for k in keywords):
        raise ValueError(f"{where}: keywords must be a list of words or phrases")
    folded = [_fold_keyword(k) for k in keywords]
    if bad := [k for k, f in zip(keywords, folded, strict=True) if not f or not all(w.strip("*") for w in f.split())]:
        raise ValueError(f"{where}: keyword {bad[0]!r} has no word to match")
    if dupes := sorted({k for k in folded if folded.count(k) > 1}):
        # "über" and "ueber" fold alike; listing both would count the same word twice
        raise ValueError(f"{where}: keywords repeated once folded: {', '.join(dupes)}")


def _check_questions(questions: object, where: str) -> tuple[str, ...]:
    if not isinstance(questions, list) or not all(isinstance(q, str) for q in questions):
        raise ValueError(f"{where}: questions must be a list of strings")
    if len(questions) > MAX_QUESTIONS:
        raise ValueError(f"{where}: {len(questions)} questions, at most {MAX_QUESTIONS}")
    cleaned = tuple(q.strip() for q in questions)
    if any(not q for q in cleaned):
        raise ValueError(f"{where}: an empty question")
    if too_long := [q for q in cleaned if len(q) > MAX_QUESTION_LEN]:
        raise ValueError(f"{where}: question {too_long[0][:40]!r}... is over {MAX_QUESTION_LEN} characters")
    if len(set(cleaned)) != len(cleaned):
        raise ValueError(f"{where}: a question is listed twice")
    return cleaned


def _parse(entry: dict[str, Any], where: str, languages: tuple[str, ...] = LIST_LANGUAGES) -> IncidentType:
    code = entry.get("code")
    if not isinstance(code, str) or not _CODE.fullmatch(code):
        raise ValueError(f"{where}: code {code!r} is not a short upper-case code like 'RTC-INJ'")
    where = f"incident type {code!r}"
    if missing := _FIELDS - entry.keys():
        raise ValueError(f"{where}: missing {', '.join(sorted(missing))}")
    if unknown := entry.keys() - _FIELDS - _OPTIONAL:
        raise ValueError(f"{where}: unknown field {', '.join(sorted(unknown))}")
    name, priority, group, plan = entry["name"], entry["priority"], entry["group"], entry["plan"]
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"{where}: name must be a non-empty string")
    if type(priority) is not int or not 1 <= priority <= 4:
        raise ValueError(f"{where}: priority {priority!r} is not 1..4")
    if group not in GROUPS:
        raise ValueError(f"{where}: unknown group {group!r} (known: {', '.join(sorted(GROUPS))})")
    _check_plan(plan, where)
    keywords = _keywords(entry["keywords"], where, languages)
    for flag in ("public", "transport"):
        if not isinstance(entry[flag], bool):
            raise ValueError(f"{where}: {flag} must be true or false")
    on_scene = entry["on_scene_min"]
    if isinstance(on_scene, bool) or not isinstance(on_scene, int | float) or on_scene < 0:
        raise ValueError(f"{where}: on_scene_min {on_scene!r} must be a number of minutes >= 0")
    share = entry["share"]
    if isinstance(share, bool) or not isinstance(share, int | float) or not 0 <= share <= 1000:
        raise ValueError(f"{where}: share {share!r} must be a number of calls per thousand, 0..1000")
    if share and not plan:
        raise ValueError(f"{where}: a type with no response plan cannot have a share of the simulated calls")
    questions = _check_questions(entry.get("questions", []), where)
    apco = entry.get("apco")
    if apco is not None and (not isinstance(apco, str) or not _APCO.fullmatch(apco)):
        raise ValueError(f"{where}: apco {apco!r} is not an APCO common incident type code like 'MVAINJY'")
    return IncidentType(
        code=code,
        name=name,
        priority=priority,
        group=group,
        plan=tuple(Slot(c, n) for c, n in plan.items()),
        keywords=keywords,
        public=entry["public"],
        on_scene_min=float(on_scene),
        transport=entry["transport"],
        share=float(share),
        questions=questions,
        names=_names(entry.get("names", {}), where),
        context=_keywords(entry.get("context", []), f"{where} context", languages),
        apco=apco,
    )


@lru_cache
def incident_types() -> IncidentTypes:
    """The packaged table, its keywords in the centre's languages (DISPATCH_LANGUAGES)."""
    settings = get_settings()
    return IncidentTypes.load(languages=settings.languages, names_language=settings.names_language)
