"""What a text is written in, so `speak` refuses text its voice cannot read instead of spelling it out.

Piper and Kokoro, given Japanese, read "Japanese letter, Japanese letter, ..."; given an emoji they read its
name. So emoji and other pictographic symbols are dropped, and text whose letters belong to a script none of the
backend's languages is written in is refused with one line naming the languages it speaks.
"""

from __future__ import annotations

import re
import unicodedata

from voxtwin.errors import VoxtwinError

# language code -> Unicode scripts its text is written in (the first word of a letter's Unicode name)
LANGUAGE_SCRIPTS: dict[str, frozenset[str]] = {
    **{code: frozenset({"LATIN"}) for code in ("en", "es", "fr", "de", "it", "pt", "pl", "tr", "nl", "cs", "hu")},
    "ru": frozenset({"CYRILLIC"}),
    "ar": frozenset({"ARABIC"}),
    "zh-cn": frozenset({"CJK"}),
    "zh": frozenset({"CJK"}),
    "ja": frozenset({"CJK", "HIRAGANA", "KATAKANA", "HALFWIDTH", "FULLWIDTH"}),
    "ko": frozenset({"HANGUL"}),
    "hi": frozenset({"DEVANAGARI"}),
}
SCRIPT_NAMES = {"CJK": "Chinese/Japanese (CJK)", "HIRAGANA": "Japanese (hiragana)", "KATAKANA": "Japanese (katakana)", "HANGUL": "Korean (hangul)"}
# symbol categories that are never read aloud: other symbols (emoji, pictographs, dingbats), surrogates, private use
_DROPPED_CATEGORIES = {"So", "Cs", "Co", "Cn"}
_JOINERS = {"\u200d", "\ufe0e", "\ufe0f", "\u20e3"}  # zero-width joiner, variation selectors, keycap


class UnsupportedScriptError(VoxtwinError):
    """Text in a writing system the chosen voice cannot read."""


def drop_symbols(text: str) -> str:
    """The text without emoji, pictographs and other symbols no voice reads well (skin-tone and keycap parts too)."""
    kept = []
    for char in text:
        if char in _JOINERS or unicodedata.category(char) in _DROPPED_CATEGORIES:
            continue
        if unicodedata.category(char) == "Sk" and 0x1F3FB <= ord(char) <= 0x1F3FF:  # skin-tone modifiers
            continue
        kept.append(char)
    return re.sub(r"[ \t]{2,}", " ", "".join(kept)).strip()


def letter_script(char: str) -> str:
    """The script of a letter, from its Unicode name: 'LATIN', 'CYRILLIC', 'CJK', 'HIRAGANA', ..."""
    try:
        return unicodedata.name(char).split()[0]
    except ValueError:
        return "UNKNOWN"


def check_script(text: str, language: str, *, speaks: list[str] | tuple[str, ...], backend: str = "this backend") -> None:
    """Refuse text with letters in a script that `language` is not written in.

    Args:
        language: The language the text is read as (`--language`).
        speaks: The backend's languages, named in the error.
    Raises:
        UnsupportedScriptError: naming the script found and the languages the backend speaks.
    """
    allowed = LANGUAGE_SCRIPTS.get(language, frozenset({"LATIN"}))
    foreign: dict[str, int] = {}
    for char in text:
        if unicodedata.category(char).startswith("L"):
            script = letter_script(char)
            if script not in allowed:
                foreign[script] = foreign.get(script, 0) + 1
    if foreign:
        found = ", ".join(SCRIPT_NAMES.get(s, s.title()) for s in sorted(foreign, key=foreign.get, reverse=True))
        raise UnsupportedScriptError(f"the text has letters in {found} script, which {backend} cannot read as {language!r}; it speaks: {', '.join(speaks)}")
