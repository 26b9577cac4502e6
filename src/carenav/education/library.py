"""The education library, kept as data: ``library/<id>.toml`` holds one topic: its category (condition,
medication, self-management, device), its follow-up intervals, the conditions (SNOMED CT codes, ICD-10-CM
codes or their start) and medicines (words of their names) that call for it, and one text per language:
title, reading level (US school grade), the plain-language points a care manager teaches and the
teach-back questions that check them.

Loaded once and checked on load: a broken file fails with its path, the part (``text es``) and what is
wrong. An English text is required (the fallback when the patient's language has none) and its declared
reading level is checked against the Flesch-Kincaid grade of its points. Pure: no SQL."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from carenav.datafiles import toml_read, toml_tables, toml_text
from carenav.education.rules import Schedule, TopicCategory, schedule_make
from carenav.errors import InvalidInput, NotFound
from carenav.patients.rules import ICD10CM, SNOMED

LIBRARY_DIR = Path(__file__).parent / "library"
FALLBACK_LANGUAGE = "en"
LANGUAGE_NAMES: Mapping[str, str] = {
    "en": "English",
    "es": "Spanish",
    "zh": "Chinese",
    "vi": "Vietnamese",
    "pt": "Portuguese",
    "ht": "Haitian Creole",
    "ko": "Korean",
    "ru": "Russian",
    "ar": "Arabic",
    "fr": "French",
    "tl": "Tagalog",
}
READING_SLACK = 2.0
"""How far above its declared grade an English text may read (Flesch-Kincaid is an estimate)."""
_LANGUAGE = re.compile(r"^[a-z]{2,3}$")
_ID = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


@dataclass(frozen=True)
class TopicText:
    language: str
    title: str
    reading_grade: int
    summary: str
    key_points: tuple[str, ...]
    teach_back: tuple[str, ...]


@dataclass(frozen=True)
class Topic:
    id: str
    version: str
    category: TopicCategory
    schedule: Schedule
    snomed: tuple[str, ...]
    icd10cm: tuple[str, ...]
    medication_words: tuple[str, ...]
    min_active_medicines: int | None
    sources: tuple[str, ...]
    texts: tuple[TopicText, ...]

    @property
    def languages(self) -> tuple[str, ...]:
        return tuple(t.language for t in self.texts)

    @property
    def title(self) -> str:
        """The English title (the library's own name for the topic)."""
        return self.text(FALLBACK_LANGUAGE).title

    def text(self, language: str) -> TopicText:
        """The text in ``language``; NotFound listing the languages the topic has."""
        for text in self.texts:
            if text.language == language:
                return text
        raise NotFound(
            f"topic {self.id} has no {language_name(language)} text "
            f"(it has {', '.join(language_name(x) for x in self.languages)})",
            where="language",
        )

    def best_language(self, wanted: str | None) -> str:
        """The patient's language when the topic has it, English otherwise."""
        base = language_base(wanted)
        return base if base in self.languages else FALLBACK_LANGUAGE

    def applies_to(self, system: str | None, code: str | None) -> bool:
        """Whether a condition coded ``system|code`` calls for this topic (ICD-10-CM by the start of the
        code, with or without its dot)."""
        if not code:
            return False
        if system == SNOMED:
            return code in self.snomed
        if system == ICD10CM:
            bare = code.replace(".", "").upper()
            return any(bare.startswith(prefix.replace(".", "")) for prefix in self.icd10cm)
        return False

    def names_medicine(self, name: str | None) -> bool:
        """Whether a medicine's name (an RxNorm display, say) contains one of the topic's words."""
        if not name:
            return False
        words = set(re.findall(r"[a-z]+", name.lower()))
        return any(word in words for word in self.medication_words)


def language_base(code: str | None) -> str:
    """The primary language of a BCP-47 tag: ``es-MX`` -> ``es``; empty for none."""
    return (code or "").strip().lower().replace("_", "-").split("-")[0]


def language_name(code: str) -> str:
    return LANGUAGE_NAMES.get(code, code)


def topic_load(path: Path) -> Topic:
    where = str(path)
    document = toml_read(path)
    topic_id = toml_text(document, "id", where)
    if topic_id != path.stem:
        raise InvalidInput(f"the topic's id {topic_id!r} is not its file name", where=where)
    if not _ID.match(topic_id) or len(topic_id) > 100:
        raise InvalidInput(f"id {topic_id!r} is not lower-case words joined by hyphens", where=where)
    try:
        category = TopicCategory(str(document.get("category")))
    except ValueError:
        allowed = ", ".join(c.value for c in TopicCategory)
        raise InvalidInput(
            f"category {document.get('category')!r} is not one of {allowed}", where=where
        ) from None
    schedule = schedule_make(
        document.get("reinforce_days"),
        document.get("reteach_days"),
        document.get("review_days"),
        where=where,
    )
    applies = document.get("applies_to", {})
    if not isinstance(applies, dict):
        raise InvalidInput("[applies_to] must be a table", where=where)
    at = f"{where}: applies_to"
    snomed = _strings(applies, "snomed", at)
    icd10cm = _strings(applies, "icd10cm", at)
    for code in snomed:
        if not code.isdigit():
            raise InvalidInput(f"SNOMED CT code {code!r} is not a number", where=at)
    for code in icd10cm:
        if not re.match(r"^[A-Z][0-9][0-9A-Z]?(\.?[0-9A-Z]{0,4})?$", code):
            raise InvalidInput(f"{code!r} is not an ICD-10-CM code or the start of one", where=at)
    words = tuple(w.lower() for w in _strings(applies, "medications", at))
    for word in words:
        if not re.match(r"^[a-z]+$", word):
            raise InvalidInput(f"medicine word {word!r} is not one word of letters", where=at)
    minimum = applies.get("min_active_medicines")
    if minimum is not None and (isinstance(minimum, bool) or not isinstance(minimum, int) or minimum < 2):
        raise InvalidInput(f"min_active_medicines {minimum!r} is not a count of 2 or more", where=at)
    texts = tuple(
        _topic_text(raw, category, where) for raw in toml_tables(document, "text", where, required=True)
    )
    languages = [t.language for t in texts]
    for language in languages:
        if languages.count(language) > 1:
            raise InvalidInput(f"two texts in {language_name(language)}", where=where)
    if FALLBACK_LANGUAGE not in languages:
        raise InvalidInput("a topic needs an English text (the fallback for other languages)", where=where)
    sources = _strings(document, "sources", where)
    if not sources:
        raise InvalidInput("sources must name where the content comes from", where=where)
    return Topic(
        id=topic_id,
        version=toml_text(document, "version", where),
        category=category,
        schedule=schedule,
        snomed=snomed,
        icd10cm=icd10cm,
        medication_words=words,
        min_active_medicines=minimum,
        sources=sources,
        texts=texts,
    )


def _topic_text(raw: Mapping[str, Any], category: TopicCategory, where: str) -> TopicText:
    language = toml_text(raw, "language", f"{where}: text")
    at = f"{where}: text {language}"
    if not _LANGUAGE.match(language):
        raise InvalidInput(f"language {language!r} is not a lower-case language code like es", where=at)
    grade = raw.get("reading_grade")
    if isinstance(grade, bool) or not isinstance(grade, int) or not 1 <= grade <= 12:
        raise InvalidInput(f"reading_grade {grade!r} is not a school grade (1 to 12)", where=at)
    points = _strings(raw, "key_points", at)
    questions = _strings(raw, "teach_back", at)
    if not 2 <= len(points) <= 12:
        raise InvalidInput(f"key_points has {len(points)} points: teach 2 to 12", where=at)
    if not 1 <= len(questions) <= 6:
        raise InvalidInput(f"teach_back has {len(questions)} questions: ask 1 to 6", where=at)
    if category is TopicCategory.DEVICE and not any(_asks_to_show(q) for q in questions):
        raise InvalidInput(
            "a device topic needs a teach-back that asks the learner to show the skill", where=at
        )
    if language == "en":
        estimate = reading_grade_estimate(points)
        if estimate > grade + READING_SLACK:
            raise InvalidInput(
                f"the key points read at grade {estimate:.1f} (Flesch-Kincaid), above the declared "
                f"reading_grade {grade}: use shorter words and sentences, or declare the grade",
                where=at,
            )
    return TopicText(
        language=language,
        title=toml_text(raw, "title", at),
        reading_grade=grade,
        summary=toml_text(raw, "summary", at),
        key_points=points,
        teach_back=questions,
    )


def _asks_to_show(question: str) -> bool:
    lowered = question.lower()
    return any(word in lowered for word in ("show me", "muéstreme", "muestreme", "enséñeme", "enseñeme"))


def _strings(raw: Mapping[str, Any], key: str, where: str) -> tuple[str, ...]:
    values = raw.get(key, [])
    if not isinstance(values, list) or not all(isinstance(v, str) and v.strip() for v in values):
        raise InvalidInput(f"{key} must be a list of non-empty strings", where=where)
    return tuple(v.strip() for v in values)


# --- reading level ---------------------------------------------------------------------------------


def syllables(word: str) -> int:
    """An estimate of the syllables of an English word (vowel groups, a silent final e dropped)."""
    letters = re.sub(r"[^a-z]", "", word.lower())
    if not letters:
        return 0
    if len(letters) <= 3:
        return 1
    letters = re.sub(r"(?:[^laeiouy]es|[^laeiouy]ed|[^laeiouy]e)$", lambda m: m.group(0)[0], letters)
    letters = re.sub(r"^y", "", letters)
    return max(1, len(re.findall(r"[aeiouy]+", letters)))


def reading_grade_estimate(passages: Sequence[str]) -> float:
    """The Flesch-Kincaid grade of English text given as passages (each point at least one sentence):
    0.39 x words per sentence + 11.8 x syllables per word - 15.59."""
    sentences = 0
    words: list[str] = []
    for passage in passages:
        parts = [p for p in re.split(r"[.!?]+(?:\s|$)", passage) if re.search(r"[A-Za-z0-9]", p)]
        sentences += max(1, len(parts))
        words.extend(w for w in re.findall(r"[A-Za-z0-9][A-Za-z0-9'\u2019,-]*", passage))
    if not words:
        return 0.0
    counted = sum(syllables(w) if re.search(r"[A-Za-z]", w) else 1 for w in words)
    return 0.39 * len(words) / sentences + 11.8 * counted / len(words) - 15.59


# --- the shipped library ---------------------------------------------------------------------------


@cache
def topics() -> tuple[Topic, ...]:
    """Every shipped topic, by English title."""
    return tuple(sorted((topic_load(p) for p in LIBRARY_DIR.glob("*.toml")), key=lambda t: t.title))


def topic_get(topic_id: str) -> Topic:
    for topic in topics():
        if topic.id == topic_id:
            return topic
    raise NotFound(f"no education topic {topic_id!r} in the library", where="topic")


@dataclass(frozen=True)
class TopicMatch:
    """A topic the patient's record calls for, and why: the conditions and medicines that name it."""

    topic: Topic
    reasons: tuple[str, ...]


def topics_for(
    conditions: Iterable[tuple[str | None, str | None, str | None]],
    medicines: Iterable[str | None],
) -> list[TopicMatch]:
    """The topics the patient's active conditions (``(system, code, display)``) and active medicines
    (their names) call for, by title, each with the reasons (each condition or medicine named once)."""
    conditions = list(conditions)
    names: list[str] = [m for m in medicines if m]
    found = []
    for topic in topics():
        reasons: list[str] = []
        for system, code, display in conditions:
            if topic.applies_to(system, code):
                reasons.append(display or code or "a condition")
        for name in names:
            if topic.names_medicine(name):
                reasons.append(name)
        if topic.min_active_medicines is not None and len(set(names)) >= topic.min_active_medicines:
            reasons.append(f"{len(set(names))} medicines")
        if reasons:
            found.append(TopicMatch(topic, tuple(dict.fromkeys(reasons))))
    return found
