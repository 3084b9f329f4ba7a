"""Vocabularies as data: the words ledgers write for reserve types, and the category an item's name suggests.

- Reserve types: the codes and labels of ``inventory.reference.ReserveType``, the shipped words of
  ``data/reserve_type_words.csv`` (政府, 企业自储, 社会化储备, 协议储备, 代储, …) and the words staff add
  (table ``reserve_type_word``: ``POST /reserve-type-words``, ``flask --app wsgi vocabulary add-reserve-word``).
- Categories: ``data/category_keywords.csv`` maps a keyword in an item's name to its category (吸油 →
  污染物收集); the longest keyword found wins; none found is ``other``.
"""

from __future__ import annotations

import csv
import functools
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from inventory.access import Actor, require_catalogue_edit
from inventory.audit import record_audit
from inventory.db import locked
from inventory.errors import Conflict, NotFound, ValidationFailed
from inventory.models import ReserveTypeWord
from inventory.reference import Category, ReserveType
from inventory.validation import check_text, fold, text_limit

DATA = Path(__file__).parent / "data"
RESERVE_TYPE_WORDS_CSV = DATA / "reserve_type_words.csv"
CATEGORY_KEYWORDS_CSV = DATA / "category_keywords.csv"


def word_key(text: str) -> str:
    """How vocabulary words compare: folded (width, case), without spaces."""
    return "".join(fold(text).split())


@functools.cache
def shipped_reserve_type_words() -> dict[str, str]:
    with RESERVE_TYPE_WORDS_CSV.open(encoding="utf-8", newline="") as handle:
        return {row["word"]: ReserveType(row["reserve_type"]).value for row in csv.DictReader(handle)}


def reserve_type_words(session: Session) -> dict[str, str]:
    """Every word a ledger may write for a reserve type → its code: shipped words, then the ones staff added."""
    words = dict(shipped_reserve_type_words())
    for word, reserve_type in session.execute(select(ReserveTypeWord.word, ReserveTypeWord.reserve_type)):
        words[word] = reserve_type.value
    return words


def add_reserve_type_word(session: Session, actor: Actor, word: str, reserve_type: str) -> ReserveTypeWord:
    """Teach the importer a new word for a reserve type (admins and provincial staff)."""
    principal = require_catalogue_edit(actor)
    word = check_text(word, "word", max_length=text_limit(ReserveTypeWord.word), required=True)
    try:
        code = ReserveType(reserve_type)
    except ValueError as exc:
        allowed = ", ".join(member.value for member in ReserveType)
        raise ValidationFailed(f"the reserve type is one of {allowed}", field="reserve_type") from exc
    known = {word_key(text): value for text, value in shipped_reserve_type_words().items()}
    known.update({word_key(member.label_zh): member.value for member in ReserveType})
    if known.get(word_key(word), code.value) != code.value:
        raise Conflict(f'"{word}" already means the reserve type {known[word_key(word)]}', field="word")
    try:
        with session.begin_nested():
            entry = ReserveTypeWord(word=word, reserve_type=code, added_by=principal.username)
            session.add(entry)
    except IntegrityError as exc:
        raise Conflict(f'"{word}" is already in the word list', field="word") from exc
    record_audit(
        session,
        actor,
        "vocabulary.reserve_type_word",
        object_type="reserve_type_word",
        object_key=word,
        after={"word": word, "reserve_type": code.value},
    )
    return entry


def remove_reserve_type_word(session: Session, actor: Actor, word: str) -> None:
    """Take back a word staff added (the shipped words stay: they live in the data file)."""
    require_catalogue_edit(actor)
    entry = session.scalar(
        locked(select(ReserveTypeWord).where(ReserveTypeWord.word == word), ReserveTypeWord, "delete")
    )
    if entry is None:
        raise NotFound(f"no added reserve type word {word!r}", field="word")
    record_audit(
        session,
        actor,
        "vocabulary.reserve_type_word.delete",
        object_type="reserve_type_word",
        object_key=word,
        before={"word": word, "reserve_type": entry.reserve_type.value},
    )
    session.delete(entry)
    session.flush()


def list_reserve_type_words(session: Session) -> list[dict]:
    """The vocabulary as the API shows it: each word, its code, and whether it ships or was added (by whom)."""
    listed = [{"word": w, "reserve_type": c, "added_by": None} for w, c in shipped_reserve_type_words().items()]
    for entry in session.scalars(select(ReserveTypeWord).order_by(ReserveTypeWord.id)):
        listed.append({"word": entry.word, "reserve_type": entry.reserve_type.value, "added_by": entry.added_by})
    return listed


@functools.cache
def category_keywords() -> tuple[tuple[str, Category], ...]:
    """(keyword, category) of ``category_keywords.csv``, longest keyword first."""
    with CATEGORY_KEYWORDS_CSV.open(encoding="utf-8", newline="") as handle:
        pairs = [(word_key(row["keyword"]), Category(row["category"])) for row in csv.DictReader(handle)]
    return tuple(sorted(pairs, key=lambda pair: -len(pair[0])))


def infer_category(name: str) -> tuple[Category, str | None]:
    """The category an item's name suggests and the keyword that said so; ``other`` and None when none does."""
    key = word_key(name)
    for keyword, category in category_keywords():
        if keyword in key:
            return category, keyword
    return Category.OTHER, None
