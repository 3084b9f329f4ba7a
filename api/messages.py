"""Server messages in the reader's language: one Babel catalog, looked up by the English text.

Every message the API can answer with — a domain error's text, a marshmallow/webargs field message, a
problem title, an import issue — is one entry of ``api/translations/zh_CN/LC_MESSAGES/messages.po``:
``msgctxt`` is its stable machine ``code``, ``msgid`` its English template with ``{name}`` placeholders,
``msgstr`` the Chinese. Services keep raising plain English (the CLI and the logs read it); the edge finds
the template a text was made from (placeholders match any text), which gives the code, the parameters and
the translation. A parameter that is itself a message (``{message}``, ``{reason}``…) is translated too.

The .po file is read when the app starts (a few hundred entries, milliseconds), so there is no compiled
.mo file to build or to forget to rebuild: the reviewed text is the text served.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from babel.messages.pofile import read_po

from inventory.reference import (
    CallUpLineStatus,
    CallUpStatus,
    Category,
    DeliveryChannel,
    LabelledEnum,
    RegionLevel,
    ReserveType,
    ReviewKind,
    Role,
)
from inventory.system_texts import in_chinese

CATALOG_PATH = Path(__file__).parent / "translations" / "zh_CN" / "LC_MESSAGES" / "messages.po"
UNLISTED = "unlisted"  # the code of a text the catalog does not know (it is answered as written)
NESTED_PARAMS = frozenset({"message", "reason", "problem", "detail", "error"})
# Parameters that are always a number: matched as digits, so a text around them that holds the same words
# (a sheet named "Q1 row 5") cannot take the number's place.
NUMBER_PARAMS = frozenset({"row", "import_id"})
PLACEHOLDER = re.compile(r"\{(\w+)\}")
# Parameters that hold a code of a closed vocabulary, per message code: a Chinese text names the value by its
# Chinese label ("已是已发运状态", not "已是 dispatched 状态"); ``params`` keep the code for programs.
VOCABULARY_PARAMS: dict[tuple[str, str], type[LabelledEnum]] = {
    ("callup_status", "status"): CallUpStatus,
    ("callup_line_already", "status"): CallUpLineStatus,
    ("region_not_county", "level"): RegionLevel,
    ("quota_exists", "material"): Category,  # an item's code is no category: it stays as written
    ("reserve_type_word_means_other", "reserve_type"): ReserveType,
    ("notification_channel_unset", "channel"): DeliveryChannel,
    ("import_review_confirm_only", "kind"): ReviewKind,
    **{
        (code, "role"): Role
        for code in (
            "role_no_access",
            "role_may_not_raise",
            "incident_open_role_refused",
            "incident_close_role_refused",
            "settlement_role_refused",
        )
    },
}


@dataclass(frozen=True)
class Template:
    code: str
    english: str
    chinese: str
    pattern: re.Pattern = field(repr=False)
    names: tuple[str, ...]

    def render(self, lang: str, params: dict[str, str]) -> str:
        text = self.chinese if lang == "zh" and self.chinese else self.english
        return PLACEHOLDER.sub(lambda match: params.get(match.group(1), match.group(0)), text)


@dataclass(frozen=True)
class Message:
    """A text as the reader gets it, with the code and parameters a program can use instead."""

    text: str
    code: str
    params: dict[str, str]


def _compile(english: str) -> tuple[re.Pattern, tuple[str, ...]]:
    """``english``'s pattern and its parameters' names."""
    parts: list[str] = []
    names: list[str] = []
    position = 0
    for match in PLACEHOLDER.finditer(english):
        parts.append(re.escape(english[position : match.start()]))
        name = match.group(1)
        value = r"\d+" if name in NUMBER_PARAMS else ".+?"
        parts.append(f"(?P={name})" if name in names else f"(?P<{name}>{value})")
        if name not in names:
            names.append(name)
        position = match.end()
    parts.append(re.escape(english[position:]))
    return re.compile("".join(parts), re.DOTALL), tuple(names)


class MessageCatalog:
    """The templates of one .po file, most specific first (the most literal text wins a tie)."""

    def __init__(self, path: Path = CATALOG_PATH) -> None:
        with path.open("rb") as handle:
            catalog = read_po(handle)
        templates = []
        for entry in catalog:
            if not entry.id or not entry.context:
                continue
            pattern, names = _compile(entry.id)
            templates.append(Template(entry.context, entry.id, entry.string or "", pattern, names))
        literal = lambda template: len(PLACEHOLDER.sub("", template.english))  # noqa: E731
        self.templates = sorted(templates, key=literal, reverse=True)
        self.by_code = {template.code: template for template in templates}
        # A template that starts with literal text is tried only on texts starting with it, and before every
        # template that starts with a placeholder: that placeholder would take a wrapper's words as its value
        # ("warehouse W1: demo may not manage …" read as username "warehouse W1: demo", half left in English).
        prefixed = [(template.english.split("{", 1)[0], template) for template in self.templates]
        self._prefixes = sorted(prefixed, key=lambda entry: entry[0] == "")
        self._lookup = lru_cache(maxsize=4096)(self._find)

    def _find(self, text: str) -> tuple[Template | None, tuple[tuple[str, str], ...]]:
        for prefix, template in self._prefixes:
            if prefix and not text.startswith(prefix):
                continue
            match = template.pattern.fullmatch(text)
            if match:
                return template, tuple(match.groupdict().items())
        return None, ()

    def message(self, text: str, lang: str) -> Message:
        """``text`` in ``lang``, with its code and parameters (nested messages translated too)."""
        template, found = self._lookup(text)
        if template is None:
            return Message(text, UNLISTED, {})
        params = dict(found)
        shown = {name: self._shown(template.code, name, value, lang) for name, value in params.items()}
        return Message(template.render(lang, shown), template.code, params)

    def _shown(self, code: str, name: str, value: str, lang: str) -> str:
        """A parameter as the text shows it: a nested message translated, a vocabulary code by its label."""
        if name in NESTED_PARAMS:
            return self.message(value, lang).text
        vocabulary = VOCABULARY_PARAMS.get((code, name))
        if vocabulary is not None and lang == "zh":
            member = next((member for member in vocabulary if member.value == value), None)
            return member.label_zh if member is not None else value
        return value

    def translate(self, text: str, lang: str) -> str:
        return self.message(text, lang).text

    def system_text(self, text: str, lang: str) -> str:
        """A ledger reason or note in ``lang`` when the server wrote it (stored as its English template, so a
        reader of either language gets it in theirs); a person's words as written. The templates and their
        Chinese are not messages: they live in ``inventory/system_texts.py``, which a Chinese notice reads too."""
        return text if lang != "zh" or not text else in_chinese(text)

    def names_value(self, text: str, value: object) -> bool:
        """Whether ``text`` names ``value`` as one of its parameters, written with or without quotes (a nested
        message's too): an import report then need not show the value again beside it. Only a parameter: "1" is
        somewhere in "differs from '张12' given … row 2" without being the value that message names, and a row
        number is a place, never a cell's value."""
        wanted = str(value)
        _, found = self._lookup(text)
        for name, param in found:
            if name in NESTED_PARAMS:
                if self.names_value(param, value):
                    return True
            elif name not in NUMBER_PARAMS and _unquoted(param) == wanted:
                return True
        return False


def _unquoted(text: str) -> str:
    """A parameter without the quotes a template or ``repr`` put round it ('海淀', "it's", “海淀”)."""
    if len(text) >= 2 and (text[0], text[-1]) in (("'", "'"), ('"', '"'), ("“", "”")):
        return text[1:-1]
    return text


@lru_cache(maxsize=1)
def catalog() -> MessageCatalog:
    return MessageCatalog()
