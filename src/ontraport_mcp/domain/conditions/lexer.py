"""The tokenizer of the readable syntax, and the words and spellings of that syntax.

Separate because it is the one place that touches characters: everything after it works on
tokens. It is a generator, so the parser reads only as far as it needs, and one compiled regex
with possessive quantifiers does the character work, so a token costs about a microsecond and a
failed match costs linear time; past ``MAX_TOKENS`` the condition is refused.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from types import MappingProxyType
from typing import Final, Literal, NamedTuple

from .limits import MAX_TOKENS, ConditionError

OPERATOR_ALIASES: Final[Mapping[str, str]] = MappingProxyType({"!=": "<>", "==": "="})
CONNECTORS: Final = frozenset({"AND", "OR"})

KEYWORDS: Final = frozenset(
    {"and", "or", "in", "not", "like", "contains", "contain", "does", "is", "null"}
)
_PREDICATE_STARTS: Final = frozenset({"in", "not", "like", "contains", "contain", "does", "is"})
_ESCAPES: Final[Mapping[str, str]] = MappingProxyType(
    {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", '"': '"', "'": "'"}
)


TokenKind = Literal["word", "string", "op", "(", ")", ",", "end"]


class Token(NamedTuple):
    """A tuple, not a dataclass: a long condition makes thousands and tuples are built fastest."""

    kind: TokenKind
    text: str  # words: as typed; strings: unescaped; operators: canonical API spelling
    start: int
    end: int


_TOKEN_RE: Final = re.compile(
    r"""
    \s*
    (?:
        (?P<punct>[(),])
      | (?P<string>"(?:[^"\\]++|\\.)*+"|'(?:[^'\\]++|\\.)*+')
      | (?P<op><>|!=|>=|<=|==|[=<>])
      | (?P<word>(?:[^\s"'(),=<>!]++|!(?!=))++)
    )?
    """,
    re.VERBOSE | re.DOTALL,
)
"""Whitespace, then one token, following the grammar's ``word`` definition. A quote that does not
start a complete string matches no token, which is how an unterminated string is found. The
possessive quantifiers (``++``, ``*+``) never backtrack, so a failed match costs linear time."""

_ESCAPE_RE: Final = re.compile(r"\\(.)", re.DOTALL)
_PUNCTUATION: Final[Mapping[str, TokenKind]] = MappingProxyType({"(": "(", ")": ")", ",": ","})


def scan(text: str) -> Iterator[Token]:
    """The expression's tokens, then an ``end`` token; offsets are kept so errors can point.

    A generator, so the parser reads only as far as it needs: a condition that is wrong near its
    start fails without tokenizing the rest. One compiled regex does the character work, so a
    token costs about a microsecond rather than a Python step per character; past ``MAX_TOKENS``
    the condition is refused.
    """
    match_at = _TOKEN_RE.match
    count = 0
    i = 0
    n = len(text)
    while i < n:
        match = match_at(text, i)
        kind = match.lastgroup if match is not None else None
        if match is None or kind is None:
            i = match.end() if match is not None else i
            if i < n:  # only a quote without its closing partner stops the regex here
                raise ConditionError(
                    f"Unterminated string starting at offset {i}: add the closing {text[i]}.",
                    position=i,
                )
            break
        start, end = match.span(kind)
        count += 1
        if count > MAX_TOKENS:
            raise ConditionError(
                f"The condition has more than {MAX_TOKENS} words, values and symbols; shorten "
                "it: quote long values, keep IN lists to a few hundred values, or split the "
                "work over several calls.",
                position=start,
            )
        value = match.group(kind)
        if kind == "word":
            yield Token("word", value, start, end)
        elif kind == "op":
            yield Token("op", OPERATOR_ALIASES.get(value, value), start, end)
        elif kind == "string":
            yield Token("string", _unescape(value[1:-1]), start, end)
        else:
            yield Token(_PUNCTUATION[value], value, start, end)
        i = end
    yield Token("end", "", n, n)


def _unescape(body: str) -> str:
    """The string's text with the grammar's escapes applied (unknown escapes stay as typed)."""
    if "\\" not in body:
        return body
    return _ESCAPE_RE.sub(lambda m: _ESCAPES.get(m.group(1), m.group()), body)
