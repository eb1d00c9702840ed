"""Human-readable record conditions, translated into Ontraport's ``condition`` JSON.

Why this exists: the API filters records with a JSON array of clause objects joined by the strings
``"AND"``/``"OR"`` (API.md §1.8). A language model (or a person) writes
``state = CA and lifetime value > 1000`` far more reliably than that JSON, and it does not know
that "Sales Stage" is the field ``status`` or that the option "High" is stored as ``8``. This
module parses the readable form with a small recursive-descent parser, resolves field names and
option labels against the object type's ``/objects/meta`` entry, and emits the JSON. It also
validates JSON written by hand, renders JSON back to a one-line summary for confirmations, and
spots conditions that would select every record (so a bulk delete can refuse them).

Grammar (EBNF; keywords are case-insensitive, whitespace separates tokens)::

    condition   = or_expr EOF ;
    or_expr     = and_expr , { "OR" , and_expr } ;           (* AND binds tighter than OR *)
    and_expr    = primary , { "AND" , primary } ;
    primary     = "(" , or_expr , ")" | comparison ;           (* nesting depth <= 32 *)
    comparison  = field , predicate ;
    field       = string | word , { word } ;       (* longest run of words naming a known field *)
    predicate   = compare_op , value
                | [ "NOT" ] , "IN" , "(" , value , { "," , value } , ")"
                | "LIKE" , value
                | "CONTAINS" , value
                | ( "DOES" , "NOT" | "NOT" ) , ( "CONTAIN" | "CONTAINS" ) , value
                | "IS" , [ "NOT" ] , "NULL"
                | "IS" , [ "NOT" ] , value ;            (* "is X" = "= X", "is not X" = "!= X" *)
    compare_op  = "=" | "==" | "!=" | "<>" | ">" | "<" | ">=" | "<=" ;
    value       = string | word , { word } ;   (* bare words run to AND/OR, ",", ")" or the end;
                                                  inside IN ( ... ) only "," and ")" end them *)
    string      = '"' , { char | escape } , '"' | "'" , { char | escape } , "'" ;
    escape      = "\\" , char ;   (* \\n \\t \\r \\\\ \\" \\' ; other escapes are kept as typed *)
    word        = any run of characters except whitespace, quotes, "(", ")", ",", "=", "<", ">"
                  and "!=" ;

A bare value is the source text from its first to its last word, so ``state = New York`` gives
``"New York"``; the first word of a value is always taken, so ``state = OR`` means Oregon. What a
value means depends on the field's meta ``type`` (API.md §6):

* numbers (``numeric``, ``price``, ``parent``, ``id``): JSON numbers;
* dates (``timestamp``, ``fulldate``): epoch seconds (int) from ``today``, ``yesterday``,
  ``tomorrow``, ``now``, ``N minutes|hours|days|weeks|months|years ago``, ``in N days``,
  ``N days from now``, ISO ``YYYY-MM-DD[THH:MM[:SS]][Z|+HH:MM]`` or a plain epoch number. All in
  UTC. Day-or-longer offsets are counted from the start of today (midnight UTC), so
  ``30 days ago`` is a midnight; only ``now`` and minute/hour offsets keep the time of day.
  ``ontraport_mcp.dates`` reads them, the same parser every date argument of a tool goes through;
* ``drop``: an option id or label (case-insensitive), sent as the option id;
* ``list`` and ``subscription`` (``contact_cat`` tags, sequences, automations): ``CONTAINS`` /
  ``DOES NOT CONTAIN`` an option id or label (tag names only through ``tag_ids``); ``=`` and
  ``!=`` mean the same as those two on such fields;
* ``check``: true/false, yes/no, on/off, 1/0, sent as ``"1"``/``"0"``;
* everything else (text, email, phone, ...): the string exactly as written.

Representations chosen where the sources disagree or are silent (API.md §1.8 marks them
unconfirmed):

* ``IS NULL``      -> ``{"field": {"field": f}, "op": "IS", "value": "NULL"}`` (bare ``"NULL"``,
  as three independent clients send it).
* ``IS NOT NULL``  -> ``{"field": {"field": f}, "op": "<>", "value": {"value": ""}}``. No source
  shows an ``IS NOT`` operator and the SDK validator rejects it, while ``<>`` is accepted. Under
  SQL semantics this is true only for values that are neither NULL nor empty, which is what "has
  a value" means for Ontraport, whose records store unset text as ``""`` and unset dates as 0.
  ``= null`` / ``!= null`` (unquoted) are read as ``IS NULL`` / ``IS NOT NULL``.
* ``CONTAINS v``   -> ``{"op": "CONTAINS", "value": {"value": <option id>}}`` and
  ``DOES NOT CONTAIN`` likewise: the only form any source documents for ``*/*`` list fields
  (§1.9). On text fields ``CONTAINS v`` becomes ``LIKE "%v%"``; the API has no ``NOT LIKE``, so
  ``DOES NOT CONTAIN`` is refused there.
* ``!=`` -> ``<>``.

The API gets a flat list and (by SQL precedence) evaluates AND before OR. Parentheses therefore
cannot be sent; the parsed expression is rewritten into disjunctive normal form (an OR of ANDs),
which for an expression that is already flat is the expression itself, in the same order. The
rewrite of e.g. ``a and (b or c)`` into ``a and b or a and c`` can grow exponentially, so it is
capped at ``MAX_CLAUSES`` clauses.

Bounded work: parsing runs on the server's event loop, so every step is linear in the input and
the input is capped: a readable condition at ``MAX_EXPRESSION_LENGTH`` characters and
``MAX_TOKENS`` tokens, nesting at ``MAX_DEPTH``, a flat AND/OR chain at ``MAX_CLAUSES`` items
(refused while parsing, not after), a JSON condition at ``MAX_JSON_LENGTH`` characters of text and
``MAX_JSON_ITEMS`` clauses, connectors and IN values. The worst input costs about a millisecond
or two; every limit is refused with a ``ConditionError`` naming the limit and how to stay within
it, and error messages quote at most 80 characters of what was sent.
"""

from __future__ import annotations

import difflib
import json
import math
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Any, Final, Literal, NamedTuple

from .dates import DATE_CHOICES, DATE_FORMS_TEXT, date_hint, parse_date, utc_now
from .errors import QUOTE_CHARS, excerpt

__all__ = [
    "FIELD_SYNONYMS",
    "MAX_CLAUSES",
    "ConditionError",
    "FieldInfo",
    "describe_condition",
    "fields_from_meta",
    "is_always_true",
    "normalize_condition",
    "parse_condition",
]

MAX_CLAUSES: Final = 32
"""Most clause objects one condition may expand to; beyond this the caller must simplify."""

MAX_DEPTH: Final = 32
"""Deepest parenthesis nesting accepted; keeps the recursive parser far from Python's limit."""

MAX_EXPRESSION_LENGTH: Final = 10_000
"""Longest readable expression accepted, so a runaway argument cannot cost unbounded work."""

MAX_TOKENS: Final = 1_000
"""Most words, quoted strings, operators and punctuation one readable expression may hold.

With ``MAX_EXPRESSION_LENGTH`` this bounds the parser's work (about a millisecond at most; it
runs on the server's event loop): 1,000 tokens leave room for 32 clauses plus IN lists of a few
hundred values, far beyond what a hand-written condition needs."""

MAX_JSON_ITEMS: Final = 2_000
"""Most clauses, connectors and IN values together a condition given as JSON may hold; the same
bound on work as ``MAX_TOKENS`` for the readable form."""

MAX_JSON_LENGTH: Final = 200_000
"""Longest condition accepted as JSON text (a string starting with ``[`` or ``{``)."""

FIELD_SYNONYMS: Final[Mapping[str, str]] = MappingProxyType(
    {
        # Everyday words for contact fields whose meta label is different or missing. A synonym
        # applies only when its target field exists in the type's meta and no real field name or
        # alias already claims the same words.
        "lifetime value": "spent",
        "ltv": "spent",
        "total spent": "spent",
        "tags": "contact_cat",
        "tag": "contact_cat",
        "created": "date",
        "created at": "date",
        "date created": "date",
        "date added": "date",
        "last modified": "dlm",
        "modified": "dlm",
        "updated": "dlm",
        "last updated": "dlm",
        "last activity": "dla",
    }
)
"""Human notion -> API field name, kept as data so it can grow without touching the parser."""

OPERATOR_CHOICES: Final[tuple[str, ...]] = (
    "=",
    "!=",
    ">",
    "<",
    ">=",
    "<=",
    "IN (...)",
    "NOT IN (...)",
    "LIKE",
    "CONTAINS",
    "DOES NOT CONTAIN",
    "IS NULL",
    "IS NOT NULL",
)
"""Operators of the readable syntax, offered when an operator is missing or misplaced."""

_API_OPERATORS: Final = frozenset(
    {"=", "<>", ">", "<", ">=", "<=", "IN", "NOT IN", "IS", "LIKE", "CONTAINS", "DOES NOT CONTAIN"}
)
_OPERATOR_ALIASES: Final[Mapping[str, str]] = MappingProxyType({"!=": "<>", "==": "="})
_CONNECTORS: Final = frozenset({"AND", "OR"})

_KEYWORDS: Final = frozenset(
    {"and", "or", "in", "not", "like", "contains", "contain", "does", "is", "null"}
)
_PREDICATE_STARTS: Final = frozenset({"in", "not", "like", "contains", "contain", "does", "is"})

_CATEGORY_BY_TYPE: Final[Mapping[str, str]] = MappingProxyType(
    {
        "numeric": "number",
        "price": "number",
        "parent": "number",
        "timestamp": "date",
        "fulldate": "date",
        "check": "check",
        "drop": "drop",
        "list": "list",
        "subscription": "subscription",
    }
)
_CHECK_VALUES: Final[Mapping[str, str]] = MappingProxyType(
    {
        "true": "1",
        "yes": "1",
        "on": "1",
        "checked": "1",
        "1": "1",
        "false": "0",
        "no": "0",
        "off": "0",
        "unchecked": "0",
        "0": "0",
    }
)
_NUMBER_RE: Final = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_INTEGER_RE: Final = re.compile(r"[+-]?[0-9]+")
_IDENT_RE: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_KEY_SEPARATORS_RE: Final = re.compile(r"[\s_\-]+")
_ESCAPES: Final[Mapping[str, str]] = MappingProxyType(
    {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", '"': '"', "'": "'"}
)


@dataclass(frozen=True)
class FieldInfo:
    """What the parser needs to know about one field of an object type.

    ``options`` maps option id -> label for ``drop`` and ``list`` fields; it is how labels typed
    by a person become the ids the API stores.
    """

    name: str
    alias: str = ""
    type: str = "text"
    options: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))


_ID_FIELD: Final = FieldInfo(name="id", alias="ID", type="numeric")
"""Every record has an ``id`` although ``/objects/meta`` does not list it."""


class ConditionError(ValueError):
    """A condition could not be understood; the message says how to fix it.

    ``position`` is the character offset in the readable expression (``None`` when the problem is
    in JSON input and has no text position); ``choices`` are the values that would have been
    accepted (closest field names, valid operators, option labels), so a caller can offer them.
    """

    def __init__(
        self, message: str, *, position: int | None = None, choices: Iterable[str] = ()
    ) -> None:
        super().__init__(message)
        self.message = message
        self.position = position
        self.choices: tuple[str, ...] = tuple(choices)

    def __str__(self) -> str:
        return self.message


class _FieldTable(dict[str, FieldInfo]):
    """A plain field dict that also remembers the object type name, for error messages."""

    object_name: str = ""


def fields_from_meta(type_meta: Mapping[str, Any]) -> dict[str, FieldInfo]:
    """Build the field table for one type from its ``/objects/meta`` entry.

    The entry is ``{"name": "Contact", "fields": {"firstname": {"alias": ..., "type": ...}}}``
    (API.md §3.1.8). Real meta is loose (flags as strings, ints or null; ``options`` absent or
    holding merge markup), so anything unexpected is skipped rather than trusted. ``id`` is added
    because every record has one and conditions on it are common, yet meta omits it.
    """
    table = _FieldTable()
    name = type_meta.get("name")
    table.object_name = name if isinstance(name, str) else ""
    raw_fields = type_meta.get("fields")
    if isinstance(raw_fields, Mapping):
        for field_name, spec in raw_fields.items():
            if not isinstance(field_name, str) or not isinstance(spec, Mapping):
                continue
            alias = spec.get("alias")
            field_type = spec.get("type")
            raw_options = spec.get("options")
            options: dict[str, str] = {}
            if isinstance(raw_options, Mapping):
                options = {
                    str(key): str(label)
                    for key, label in raw_options.items()
                    if isinstance(label, str | int | float)
                }
            table[field_name] = FieldInfo(
                name=field_name,
                alias=alias if isinstance(alias, str) else "",
                type=field_type if isinstance(field_type, str) else "text",
                options=MappingProxyType(options),
            )
    table.setdefault("id", _ID_FIELD)
    return table


# --------------------------------------------------------------------------------------------
# Field resolution


def _key(text: str) -> str:
    """Comparison key for field names: case, spaces, underscores and hyphens do not matter."""
    return _KEY_SEPARATORS_RE.sub("", text.casefold())


def _plural(name: str) -> str:
    """'Contact' -> 'Contacts', 'Property' -> 'Properties': only for friendlier messages."""
    if not name or name.endswith("s"):
        return name
    if name.endswith("y") and len(name) > 1 and name[-2].lower() not in "aeiou":
        return name[:-1] + "ies"
    return name + "s"


class _FieldIndex:
    """Lookup from anything a person may call a field to its ``FieldInfo``.

    Exact API names win, then comparison keys of names, aliases and synonyms in that order, so a
    synonym can never hide a real field and an alias never hides a real name.
    """

    def __init__(self, fields: Mapping[str, FieldInfo]) -> None:
        self.fields = fields
        object_name = getattr(fields, "object_name", "")
        self.object_label = _plural(object_name) if isinstance(object_name, str) else ""
        self.by_key: dict[str, FieldInfo] = {}
        self.display: dict[str, tuple[str, str]] = {}
        infos = list(fields.values())
        for info in infos:
            self._add(info.name, info)
        if "id" not in fields:
            self._add("id", _ID_FIELD)
        for info in infos:
            if info.alias:
                self._add(info.alias, info)
        for words, target in FIELD_SYNONYMS.items():
            target_info = fields.get(target)
            if target_info is not None:
                self._add(words, target_info)
        # No run of words longer than these can name a field; field_ref stops scanning there.
        self.longest_key = max(map(len, self.by_key), default=0)
        self.longest_name = max(map(len, [*fields, "id"]))

    def _add(self, label: str, info: FieldInfo) -> None:
        key = _key(label)
        if key and key not in self.by_key:
            self.by_key[key] = info
            self.display[key] = (label, info.name)

    def lookup(self, text: str) -> FieldInfo | None:
        return self.lookup_span(text, 0, len(text), _key(text))

    def lookup_span(self, text: str, start: int, end: int, key: str) -> FieldInfo | None:
        """``lookup(text[start:end])`` when ``key`` is already that span's comparison key.

        The span is only copied when it is short enough to be an exact name, so a caller trying
        ever longer spans of one long text does constant work per try.
        """
        if end - start <= self.longest_name:
            span = text[start:end]
            exact = self.fields.get(span)
            if exact is not None:
                return exact
            if span == "id":
                return _ID_FIELD
        return self.by_key.get(key)

    def unknown(self, text: str, position: int | None) -> ConditionError:
        """An error naming the closest fields, so the caller can retry without a meta lookup."""
        key = _key(text)
        close: list[str] = []
        # difflib's ratio cannot reach the 0.6 cutoff for a key over 7/3 times the longest known
        # key, so skipping it changes nothing except that a huge name costs no quadratic work.
        if len(key) <= 3 * self.longest_key:
            close = difflib.get_close_matches(key, list(self.by_key), n=8, cutoff=0.6)
        names: list[str] = []
        shown: list[str] = []
        for key in close:
            label, name = self.display[key]
            if name in names:
                continue
            names.append(name)
            shown.append(f'"{label}"' if label == name else f'"{label}" ({name})')
            if len(names) == 3:
                break
        where = f" for {self.object_label}" if self.object_label else ""
        hint = f" Did you mean: {', '.join(shown)}?" if shown else ""
        return ConditionError(
            f"Unknown field {_clip(text)}{where}.{hint} Use get_object_meta to list fields.",
            position=position,
            choices=names,
        )


def _describe_field(info: FieldInfo) -> str:
    return f"{info.alias} ({info.name})" if info.alias and info.alias != info.name else info.name


def _clip(text: str) -> str:
    """``text`` cut short and in double quotes, as messages show values."""
    return f'"{excerpt(text)}"'


def _category(info: FieldInfo) -> str:
    return _CATEGORY_BY_TYPE.get(info.type, "text")


# --------------------------------------------------------------------------------------------
# Tokenizer

_TokenKind = Literal["word", "string", "op", "(", ")", ",", "end"]


class _Token(NamedTuple):
    """A tuple, not a dataclass: a long condition makes thousands and tuples are built fastest."""

    kind: _TokenKind
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
_PUNCTUATION: Final[Mapping[str, _TokenKind]] = MappingProxyType({"(": "(", ")": ")", ",": ","})


def _scan(text: str) -> Iterator[_Token]:
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
            yield _Token("word", value, start, end)
        elif kind == "op":
            yield _Token("op", _OPERATOR_ALIASES.get(value, value), start, end)
        elif kind == "string":
            yield _Token("string", _unescape(value[1:-1]), start, end)
        else:
            yield _Token(_PUNCTUATION[value], value, start, end)
        i = end
    yield _Token("end", "", n, n)


def _unescape(body: str) -> str:
    """The string's text with the grammar's escapes applied (unknown escapes stay as typed)."""
    if "\\" not in body:
        return body
    return _ESCAPE_RE.sub(lambda m: _ESCAPES.get(m.group(1), m.group()), body)


# --------------------------------------------------------------------------------------------
# Parser


@dataclass(frozen=True, slots=True)
class _Raw:
    """A value as typed, before the field type gives it meaning."""

    text: str
    quoted: bool
    start: int


@dataclass(frozen=True, slots=True)
class _Group:
    connector: Literal["AND", "OR"]
    items: tuple[_Node, ...]
    start: int


_Node = _Group | dict[str, Any]


class _Parser:
    def __init__(
        self, text: str, index: _FieldIndex, now: datetime, tag_ids: Mapping[str, int]
    ) -> None:
        self.text = text
        self.tokens: list[_Token] = []  # read so far; _scan supplies more on demand
        self.source = _scan(text)
        self.pos = 0
        self.index = index
        self.now = now
        self.tag_ids = tag_ids

    # -- token helpers ------------------------------------------------------------------------

    def peek(self, ahead: int = 0) -> _Token:
        wanted = self.pos + ahead
        tokens = self.tokens
        while len(tokens) <= wanted and not (tokens and tokens[-1].kind == "end"):
            tokens.append(next(self.source))
        return tokens[min(wanted, len(tokens) - 1)]

    def take(self) -> _Token:
        token = self.peek()
        if token.kind != "end":
            self.pos += 1
        return token

    def at_word(self, *words: str, ahead: int = 0) -> bool:
        token = self.peek(ahead)
        return token.kind == "word" and token.text.casefold() in words

    def unexpected(self, token: _Token, expected: str) -> ConditionError:
        if token.kind == "end":
            return ConditionError(
                f"The condition ends too early: expected {expected}.", position=token.start
            )
        shown = _clip(token.text) if token.kind == "string" else excerpt(token.text)
        return ConditionError(
            f"Unexpected {shown!r} at offset {token.start}: expected {expected}. Join conditions "
            "with AND/OR, and quote values that contain operators, commas or parentheses.",
            position=token.start,
        )

    # -- grammar ------------------------------------------------------------------------------

    def parse(self) -> _Node:
        node = self.or_expr(0)
        token = self.peek()
        if token.kind != "end":
            raise self.unexpected(token, "AND, OR or the end of the condition")
        return node

    def or_expr(self, depth: int) -> _Node:
        start = self.peek().start
        items = [self.and_expr(depth)]
        while self.at_word("or"):
            self.take()
            items.append(self.and_expr(depth))
            _check_items(items, start)
        return items[0] if len(items) == 1 else _Group("OR", tuple(items), start)

    def and_expr(self, depth: int) -> _Node:
        start = self.peek().start
        items = [self.primary(depth)]
        while self.at_word("and"):
            self.take()
            items.append(self.primary(depth))
            _check_items(items, start)
        return items[0] if len(items) == 1 else _Group("AND", tuple(items), start)

    def primary(self, depth: int) -> _Node:
        token = self.peek()
        if token.kind == "(":
            if depth >= MAX_DEPTH:
                raise ConditionError(
                    f"Parentheses are nested more than {MAX_DEPTH} levels deep; simplify.",
                    position=token.start,
                )
            self.take()
            node = self.or_expr(depth + 1)
            closing = self.peek()
            if closing.kind != ")":
                raise self.unexpected(closing, f"')' to close the '(' at offset {token.start}")
            self.take()
            return node
        info = self.field_ref()
        return self.predicate(info)

    def field_ref(self) -> FieldInfo:
        """Resolve the longest run of words that names a field and is followed by an operator.

        Each longer run's comparison key is the previous key plus one word's, and no key longer
        than the longest known one can match, so the scan stops there and costs time linear in
        the words it reads. (Trying every run length from scratch was quadratic: a 10 KB run of
        words cost about a second of event-loop time.)
        """
        first = self.peek()
        if first.kind == "string":
            self.take()
            info = self.index.lookup(first.text)
            if info is None:
                raise self.index.unknown(first.text, first.start)
            return info
        if first.kind != "word":
            raise self.unexpected(first, "a field name")
        words: list[_Token] = []
        named: list[tuple[int, FieldInfo]] = []  # (word count, field) of each run naming a field
        key = ""
        while (token := self.peek(len(words))).kind == "word":
            words.append(token)
            key += _key(token.text)
            if len(key) > self.index.longest_key:
                break
            info = self.index.lookup_span(self.text, first.start, token.end, key)
            if info is not None:
                named.append((len(words), info))
        after = self.peek(len(words))
        for count, info in reversed(named):
            if _starts_predicate(words[count] if count < len(words) else after):
                self.pos += count
                return info
        if named:  # a field, but no operator after it
            count, info = named[-1]
            follower = words[count] if count < len(words) else after
            raise ConditionError(
                f'Expected an operator after field "{_describe_field(info)}" at offset '
                f"{follower.start}, e.g. = != > < >= <= IN LIKE CONTAINS IS NULL.",
                position=follower.start,
                choices=OPERATOR_CHOICES,
            )
        if first.text.casefold() == "not":
            raise ConditionError(
                "NOT in front of a condition is not supported; use !=, NOT IN, "
                "DOES NOT CONTAIN or IS NOT NULL on the field instead.",
                position=first.start,
                choices=("!=", "NOT IN (...)", "DOES NOT CONTAIN", "IS NOT NULL"),
            )
        # The unknown name: its words up to the first one that could start a predicate, or as
        # many as an error message shows (it is cut short there, and too long for suggestions).
        ahead = 0
        while (
            (token := self.peek(ahead + 1)).kind == "word"
            and not _starts_predicate(token)
            and token.end - first.start <= 3 * self.index.longest_key + QUOTE_CHARS
        ):
            ahead += 1
        raise self.index.unknown(self.text[first.start : self.peek(ahead).end], first.start)

    def predicate(self, info: FieldInfo) -> dict[str, Any]:
        token = self.peek()
        if token.kind == "op":
            self.take()
            return self.scalar_clause(info, token.text, self.value(token))
        keyword = token.text.casefold() if token.kind == "word" else ""
        if keyword == "in":
            self.take()
            return self.list_clause(info, "IN", token)
        if keyword in ("contains", "contain"):
            self.take()
            return self.scalar_clause(info, "CONTAINS", self.value(token))
        if keyword == "like":
            self.take()
            return self.scalar_clause(info, "LIKE", self.value(token))
        if keyword == "does":
            self.take()
            if not self.at_word("not") or not self.at_word("contain", "contains", ahead=1):
                raise self.unexpected(self.peek(), '"NOT CONTAIN" after "DOES"')
            self.take()
            self.take()
            return self.scalar_clause(info, "DOES NOT CONTAIN", self.value(token))
        if keyword == "not":
            self.take()
            if self.at_word("in"):
                self.take()
                return self.list_clause(info, "NOT IN", token)
            if self.at_word("contain", "contains"):
                self.take()
                return self.scalar_clause(info, "DOES NOT CONTAIN", self.value(token))
            if self.at_word("null"):
                self.take()
                return _null_clause(info, negate=True)
            if self.at_word("like"):
                raise ConditionError(
                    "NOT LIKE is not supported by the API; use != for an exact mismatch.",
                    position=token.start,
                    choices=OPERATOR_CHOICES,
                )
            raise self.unexpected(self.peek(), '"IN", "CONTAIN" or "NULL" after "NOT"')
        if keyword == "is":
            self.take()
            negate = False
            if self.at_word("not"):
                self.take()
                negate = True
            if self.at_word("null"):
                self.take()
                return _null_clause(info, negate=negate)
            return self.scalar_clause(info, "<>" if negate else "=", self.value(token))
        raise ConditionError(
            f'Expected an operator after field "{_describe_field(info)}" at offset '
            f"{token.start}, e.g. = != > < >= <= IN LIKE CONTAINS IS NULL.",
            position=token.start,
            choices=OPERATOR_CHOICES,
        )

    def value(self, operator: _Token, *, in_list: bool = False) -> _Raw:
        token = self.peek()
        if token.kind == "string":
            self.take()
            return _Raw(token.text, True, token.start)
        if token.kind != "word":
            if token.kind == "(" and not in_list:
                raise ConditionError(
                    f"A list of values needs IN, e.g. id IN (1, 2) (offset {token.start}).",
                    position=token.start,
                    choices=("IN (...)", "NOT IN (...)"),
                )
            raise self.unexpected(token, f"a value after {operator.text.upper()!r}")
        first = last = self.take()
        while self.peek().kind == "word" and (in_list or not self.at_word("and", "or")):
            last = self.take()
        return _Raw(self.text[first.start : last.end], False, first.start)

    # -- clause construction ------------------------------------------------------------------

    def list_clause(self, info: FieldInfo, op: str, operator: _Token) -> dict[str, Any]:
        category = _category(info)
        if category in ("list", "subscription"):
            raise ConditionError(
                f"{op} does not work on the multi-value field {_describe_field(info)}; use "
                "CONTAINS (or DOES NOT CONTAIN) with one value, and join several with OR.",
                position=operator.start,
                choices=("CONTAINS", "DOES NOT CONTAIN", "IS NULL", "IS NOT NULL"),
            )
        opening = self.peek()
        if opening.kind != "(":
            raise ConditionError(
                f"{op} needs a parenthesised list, e.g. id {op} (1, 2, 3) "
                f"(offset {opening.start}).",
                position=opening.start,
            )
        self.take()
        items: list[dict[str, Any]] = []
        while True:
            raw = self.value(operator, in_list=True)
            items.append({"value": self.typed_value(info, category, raw)})
            separator = self.take()
            if separator.kind == ")":
                break
            if separator.kind != ",":
                raise self.unexpected(separator, f"',' or ')' in the {op} list")
        return {"field": {"field": info.name}, "op": op, "value": {"list": items}}

    def scalar_clause(self, info: FieldInfo, op: str, raw: _Raw) -> dict[str, Any]:
        if op in ("=", "<>") and not raw.quoted and raw.text.casefold() == "null":
            return _null_clause(info, negate=op == "<>")
        category = _category(info)
        value: str | int | float
        if category in ("list", "subscription"):
            op = {"=": "CONTAINS", "<>": "DOES NOT CONTAIN"}.get(op, op)
            if op == "LIKE":
                value = raw.text
            elif op in ("CONTAINS", "DOES NOT CONTAIN"):
                value = self.member_value(info, category, raw)
            else:
                raise ConditionError(
                    f"{op} does not work on the multi-value field {_describe_field(info)}; use "
                    "CONTAINS, DOES NOT CONTAIN, IS NULL or IS NOT NULL.",
                    position=raw.start,
                    choices=("CONTAINS", "DOES NOT CONTAIN", "IS NULL", "IS NOT NULL"),
                )
        elif op == "CONTAINS" and category == "text":
            op, value = "LIKE", f"%{raw.text}%"
        elif op in ("CONTAINS", "DOES NOT CONTAIN"):
            valid = ("=", "!=", "IN (...)", "NOT IN (...)", "LIKE", "IS NULL", "IS NOT NULL")
            raise ConditionError(
                f"{op} works only on list and tag fields, not on {_describe_field(info)} "
                f"({info.type}); use =, !=, IN or LIKE"
                + (" (the API has no NOT LIKE)." if category == "text" else "."),
                position=raw.start,
                choices=valid,
            )
        elif op == "LIKE":
            value = raw.text
        else:
            value = self.typed_value(info, category, raw)
        return {"field": {"field": info.name}, "op": op, "value": {"value": value}}

    def typed_value(self, info: FieldInfo, category: str, raw: _Raw) -> str | int | float:
        """Give a typed value the representation the API stores for this field type."""
        if category == "number":
            number = _to_number(raw.text.strip())
            if number is None:
                raise ConditionError(
                    f"{_describe_field(info)} holds numbers; {_clip(raw.text)} is not a number.",
                    position=raw.start,
                )
            return number
        if category == "date":
            epoch = parse_date(raw.text, self.now)
            if epoch is None:
                raise ConditionError(
                    f"{_clip(raw.text)} is not a date {_describe_field(info)} understands."
                    f"{date_hint(raw.text)} Use {DATE_FORMS_TEXT}.",
                    position=raw.start,
                    choices=DATE_CHOICES,
                )
            return epoch
        if category == "check":
            flag = _CHECK_VALUES.get(raw.text.strip().casefold())
            if flag is None:
                raise ConditionError(
                    f"{_describe_field(info)} is a checkbox; use true or false, not {_clip(raw.text)}.",
                    position=raw.start,
                    choices=("true", "false"),
                )
            return flag
        if category in ("drop", "list"):
            return _option_id(info, raw)
        return raw.text

    def member_value(self, info: FieldInfo, category: str, raw: _Raw) -> str | int | float:
        """The id to look for inside a ``*/*`` multi-value field (API.md §1.9)."""
        if category == "list":
            return _option_id(info, raw)
        text = raw.text.strip()
        if _INTEGER_RE.fullmatch(text):
            number = _to_number(text)
            if number is not None:
                return number
        if info.name == "contact_cat":
            wanted = text.casefold()
            for tag_name, tag_id in self.tag_ids.items():
                if tag_name.casefold() == wanted:
                    return tag_id
            close = difflib.get_close_matches(text, list(self.tag_ids), n=3, cutoff=0.6)
            hint = f" Known tags like it: {', '.join(close)}." if close else ""
            raise ConditionError(
                f"Tag {_clip(text)} cannot be resolved to an id here.{hint} Use the tag id (e.g. "
                "tags contains 12); find it with the manage_tags tool or get_objects on Tags "
                "(object type 14).",
                position=raw.start,
                choices=close,
            )
        raise ConditionError(
            f"{_describe_field(info)} holds ids; {_clip(text)} is not one. Use the numeric id "
            "(list them with get_objects).",
            position=raw.start,
        )


def _starts_predicate(token: _Token) -> bool:
    return token.kind == "op" or (
        token.kind == "word" and token.text.casefold() in _PREDICATE_STARTS
    )


def _null_clause(info: FieldInfo, *, negate: bool) -> dict[str, Any]:
    if negate:
        return {"field": {"field": info.name}, "op": "<>", "value": {"value": ""}}
    return {"field": {"field": info.name}, "op": "IS", "value": "NULL"}


def _id_value(option_id: str) -> str | int:
    """Option ids are numeric strings in meta; send them as numbers like other ids."""
    if _INTEGER_RE.fullmatch(option_id) and len(option_id) < 19:
        return int(option_id)
    return option_id


def _option_id(info: FieldInfo, raw: _Raw) -> str | int | float:
    text = raw.text.strip()
    if text in info.options:
        return _id_value(text)
    wanted = " ".join(text.casefold().split())
    for option_id, label in info.options.items():
        if " ".join(label.casefold().split()) == wanted:
            return _id_value(option_id)
    if not info.options:
        # Meta without options (some system drops): pass the value through unchanged.
        number = _to_number(text) if _INTEGER_RE.fullmatch(text) else None
        return number if number is not None else text
    labels = list(info.options.values())
    close = difflib.get_close_matches(text, labels, n=3, cutoff=0.5)
    ranked = close + [label for label in labels if label not in close]
    listed = ", ".join(f'"{label}" ({oid})' for oid, label in list(info.options.items())[:12])
    more = ", ..." if len(info.options) > 12 else ""
    hint = " Did you mean: " + ", ".join(f'"{c}"' for c in close) + "?" if close else ""
    raise ConditionError(
        f"{_clip(text)} is not an option of {_describe_field(info)}.{hint} "
        f"Use an option label or id: {listed}{more}.",
        position=raw.start,
        choices=ranked,
    )


def _to_number(text: str) -> int | float | None:
    if not _NUMBER_RE.fullmatch(text):
        return None
    try:
        if any(ch in text for ch in ".eE"):
            number = float(text)
            return number if math.isfinite(number) else None
        return int(text)
    except ValueError:  # e.g. more digits than int() accepts from a string
        return None


# --------------------------------------------------------------------------------------------
# Flattening


def _dnf(node: _Node) -> list[list[dict[str, Any]]]:
    """Rewrite the tree as an OR of ANDs, the only shape the flat API list can express."""
    if not isinstance(node, _Group):
        return [[node]]
    if node.connector == "OR":
        result: list[list[dict[str, Any]]] = []
        for item in node.items:
            result.extend(_dnf(item))
            _check_size(result, node.start)
        return result
    product: list[list[dict[str, Any]]] = [[]]
    for item in node.items:
        part = _dnf(item)
        size = len(part) * sum(map(len, product)) + len(product) * sum(map(len, part))
        if size > MAX_CLAUSES:
            _too_complex(size, node.start)
        product = [left + right for left in product for right in part]
    return product


def _check_items(items: list[_Node], start: int) -> None:
    """Stop parsing a group as soon as its items alone pass ``MAX_CLAUSES`` (each item is at least
    one clause), rather than parse thousands of clauses only to refuse them afterwards."""
    if len(items) > MAX_CLAUSES:
        _too_complex(len(items), start)


def _check_size(conjunctions: list[list[dict[str, Any]]], start: int) -> None:
    size = sum(map(len, conjunctions))
    if size > MAX_CLAUSES:
        _too_complex(size, start)


def _too_complex(size: int, start: int) -> None:
    raise ConditionError(
        f"The condition expands to at least {size} clauses (limit {MAX_CLAUSES}): the API cannot "
        "nest parentheses, so each AND over an OR group is multiplied out. Simplify it, use "
        "IN (...) instead of chains of OR on one field, or split it into several calls.",
        position=start,
    )


def _flatten(conjunctions: list[list[dict[str, Any]]]) -> list[Any]:
    flat: list[Any] = []
    for conjunction in conjunctions:
        if flat:
            flat.append("OR")
        for position, clause in enumerate(conjunction):
            if position:
                flat.append("AND")
            flat.append(clause)
    return flat


# --------------------------------------------------------------------------------------------
# Public API


def parse_condition(
    expression: str,
    fields: Mapping[str, FieldInfo],
    *,
    now: datetime | None = None,
    tag_ids: Mapping[str, int] | None = None,
) -> list[Any]:
    """Translate a readable condition into the API's condition list (see the module docstring).

    ``now`` fixes the moment date words are relative to (tests, replays); ``tag_ids`` lets
    ``tags contains "VIP"`` work when the caller already knows tag ids by name. Every failure is
    a ``ConditionError`` whose message tells the caller what to change.
    """
    if not isinstance(expression, str):
        raise ConditionError("A condition must be text, e.g. state = CA.", position=None)
    if len(expression) > MAX_EXPRESSION_LENGTH:
        raise ConditionError(
            f"The condition is longer than {MAX_EXPRESSION_LENGTH} characters; shorten it: use "
            "IN (...) rather than chains of OR, or split the work over several calls.",
            position=MAX_EXPRESSION_LENGTH,
        )
    if not expression.strip():
        raise ConditionError(
            "The condition is empty; write e.g. state = CA and spent > 100.", position=0
        )
    parser = _Parser(expression, _FieldIndex(fields), utc_now(now), tag_ids or {})
    return _flatten(_dnf(parser.parse()))


def normalize_condition(
    condition: str | list[Any] | None,
    fields: Mapping[str, FieldInfo],
    *,
    now: datetime | None = None,
    tag_ids: Mapping[str, int] | None = None,
) -> list[Any] | None:
    """Accept any form a tool argument may take and return the API list, or ``None`` for "none".

    A readable string is parsed; a list, or a string holding JSON, is checked clause by clause
    (shape, operator, field name) because the API answers mistakes with an opaque 400 or, worse,
    silently ignores them. Common shorthands are repaired on the way: ``"field": "email"``,
    a bare scalar ``"value"``, a bare list for ``IN``, ``!=``, lower-case operators, a field
    alias instead of its name, and a single clause object instead of a list.
    """
    if condition is None:
        return None
    if isinstance(condition, str):
        stripped = condition.strip()
        if not stripped:
            return None
        if stripped[0] in "[{":
            if len(stripped) > MAX_JSON_LENGTH:
                raise ConditionError(
                    f"The condition JSON is longer than {MAX_JSON_LENGTH} characters; use fewer "
                    "clauses or values, or split the work over several calls.",
                    position=MAX_JSON_LENGTH,
                )
            try:
                decoded = json.loads(stripped)
            except json.JSONDecodeError as exc:
                offset = len(condition) - len(condition.lstrip()) + exc.pos
                raise ConditionError(
                    f"The condition looks like JSON but does not parse ({exc.msg} at offset "
                    f"{offset}); send a JSON list of clauses or a readable condition.",
                    position=offset,
                ) from None
            except RecursionError:
                raise ConditionError(
                    "The condition JSON is nested too deeply.", position=None
                ) from None
            return _validate_json(decoded, fields)
        return parse_condition(condition, fields, now=now, tag_ids=tag_ids)
    return _validate_json(condition, fields)


def _validate_json(data: object, fields: Mapping[str, FieldInfo]) -> list[Any] | None:
    if isinstance(data, Mapping):
        data = [data]
    if not isinstance(data, list):
        raise ConditionError(
            'A condition must be a readable string or a JSON list of clauses joined by "AND"/"OR".',
            position=None,
        )
    if not data:
        return None
    index = _FieldIndex(fields)
    result: list[Any] = []
    budget = MAX_JSON_ITEMS - len(data)  # what is left for IN values
    for position, item in enumerate(data):
        if budget < 0:
            raise _too_much_json()
        expect_clause = position % 2 == 0
        if expect_clause:
            clause = _validate_clause(item, position, index, budget)
            value = clause["value"]
            budget -= len(value.get("list", ())) if isinstance(value, dict) else 0
            result.append(clause)
            continue
        if not isinstance(item, str) or item.strip().upper() not in _CONNECTORS:
            raise ConditionError(
                f'Item {position} of the condition must be "AND" or "OR" (clauses and '
                f"connectors alternate), got {json.dumps(item, default=str)[:60]}.",
                position=None,
                choices=("AND", "OR"),
            )
        result.append(item.strip().upper())
    if len(data) % 2 == 0:
        raise ConditionError(
            "The condition ends with a connector; remove the trailing AND/OR or add a clause.",
            position=None,
        )
    return result


def _too_much_json() -> ConditionError:
    return ConditionError(
        f"The condition JSON holds more than {MAX_JSON_ITEMS} clauses, connectors and IN values "
        "together; use fewer, or split the work over several calls.",
        position=None,
    )


def _validate_clause(
    item: object, position: int, index: _FieldIndex, budget: int = MAX_JSON_ITEMS
) -> dict[str, Any]:
    where = f"Clause at item {position}"
    if not isinstance(item, Mapping):
        raise ConditionError(
            f'{where} must be an object like {{"field": {{"field": "email"}}, "op": "=", '
            f'"value": {{"value": "a@b.c"}}}}.',
            position=None,
        )
    extra = sorted(str(key) for key in item if key not in ("field", "op", "value"))
    if extra:
        raise ConditionError(
            f"{where} has unexpected keys {extra}; a clause has only field, op and value.",
            position=None,
            choices=("field", "op", "value"),
        )
    raw_field = item.get("field")
    if isinstance(raw_field, Mapping):
        raw_field = raw_field.get("field")
    if not isinstance(raw_field, str) or not raw_field:
        raise ConditionError(f'{where} needs "field": {{"field": "<field name>"}}.', position=None)
    info = index.lookup(raw_field)
    if info is None:
        raise index.unknown(raw_field, None)
    raw_op = item.get("op")
    if not isinstance(raw_op, str):
        raise ConditionError(
            f'{where} needs "op", one of {", ".join(sorted(_API_OPERATORS))}.',
            position=None,
            choices=sorted(_API_OPERATORS),
        )
    op = " ".join(raw_op.upper().split())
    op = _OPERATOR_ALIASES.get(op, op)
    raw_value = item.get("value")
    if op in ("IS", "IS NOT"):
        if isinstance(raw_value, Mapping):
            raw_value = raw_value.get("value")
        if raw_value is not None and (
            not isinstance(raw_value, str) or raw_value.upper() != "NULL"
        ):
            raise ConditionError(
                f'{where}: IS only tests for NULL ("value": "NULL"); use = for other values.',
                position=None,
            )
        return _null_clause(info, negate=op == "IS NOT")
    if op not in _API_OPERATORS:
        close = difflib.get_close_matches(op, sorted(_API_OPERATORS), n=3, cutoff=0.4)
        raise ConditionError(
            f'{where} has unknown operator "{raw_op}"; use one of '
            f"{', '.join(sorted(_API_OPERATORS))}.",
            position=None,
            choices=close + [name for name in sorted(_API_OPERATORS) if name not in close],
        )
    clause_field = {"field": info.name}
    if op in ("IN", "NOT IN"):
        items = raw_value.get("list") if isinstance(raw_value, Mapping) else raw_value
        if not isinstance(items, list) or not items:
            raise ConditionError(
                f'{where}: {op} needs "value": {{"list": [{{"value": 1}}, {{"value": 2}}]}} '
                "with at least one value.",
                position=None,
            )
        if len(items) > budget:
            raise _too_much_json()
        values = [
            {"value": _json_scalar(entry.get("value") if isinstance(entry, Mapping) else entry)}
            for entry in items
        ]
        if any(value["value"] is None for value in values):
            raise ConditionError(
                f"{where}: every {op} entry must be a string or number.", position=None
            )
        return {"field": clause_field, "op": op, "value": {"list": values}}
    scalar = _json_scalar(raw_value.get("value") if isinstance(raw_value, Mapping) else raw_value)
    if scalar is None:
        raise ConditionError(
            f'{where} needs "value": {{"value": <string or number>}}; for missing values use '
            '"op": "IS", "value": "NULL".',
            position=None,
        )
    return {"field": clause_field, "op": op, "value": {"value": scalar}}


def _json_scalar(value: object) -> str | int | float | None:
    """The value if it is a JSON string or finite number (booleans are not), else ``None``."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str | int):
        return value
    if isinstance(value, float) and math.isfinite(value):
        return value
    return None


def describe_condition(condition: list[Any]) -> str:
    """Render an API condition list as one readable line, for confirmations and logs.

    The output is valid input for ``parse_condition`` and, for values in the form the parser
    emits, parses back to the same list. Unexpected items are shown as JSON rather than dropped,
    so a summary never hides part of what will be sent.
    """
    parts: list[str] = []
    for item in condition:
        if isinstance(item, str) and item.strip().upper() in _CONNECTORS:
            parts.append(item.strip().upper())
        elif isinstance(item, Mapping):
            parts.append(_describe_clause(item))
        else:
            parts.append(json.dumps(item, default=str))
    return " ".join(parts)


def _describe_clause(clause: Mapping[str, Any]) -> str:
    raw_field = clause.get("field")
    name = raw_field.get("field") if isinstance(raw_field, Mapping) else raw_field
    field_text = _describe_name(name if isinstance(name, str) else json.dumps(name, default=str))
    op = clause.get("op")
    value = clause.get("value")
    inner = value.get("value") if isinstance(value, Mapping) else value
    op_text = " ".join(op.upper().split()) if isinstance(op, str) else str(op)
    if op_text in ("IS", "IS NOT") and isinstance(inner, str) and inner.upper() == "NULL":
        return f"{field_text} {op_text} NULL"
    if op_text in ("<>", "!=") and inner == "":
        return f"{field_text} IS NOT NULL"
    if op_text in ("IN", "NOT IN") and isinstance(value, Mapping) and "list" in value:
        entries = value.get("list")
        shown = [
            _describe_value(entry.get("value") if isinstance(entry, Mapping) else entry)
            for entry in (entries if isinstance(entries, list) else [])
        ]
        return f"{field_text} {op_text} ({', '.join(shown)})"
    op_text = "!=" if op_text == "<>" else op_text
    return f"{field_text} {op_text} {_describe_value(inner)}"


def _describe_name(name: str) -> str:
    if _IDENT_RE.fullmatch(name) and name.casefold() not in _KEYWORDS:
        return name
    return _quote(name)


def _describe_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return _quote(value)
    return json.dumps(value, default=str)


def _quote(text: str) -> str:
    escaped = (
        text.replace("\\", "\\\\")
        .replace('"', '\\"')
        .replace("\n", "\\n")
        .replace("\t", "\\t")
        .replace("\r", "\\r")
    )
    return f'"{escaped}"'


def is_always_true(condition: list[Any] | None) -> bool:
    """Whether a condition selects every record, so a bulk delete or update can refuse it.

    True for no condition at all, and for a list in which some OR-branch consists only of
    clauses every record satisfies: tests on ``id`` (always a positive integer) such as
    ``id > 0``, ``id >= 1``, ``id <> 0``, ``id IS NOT NULL``, ``id NOT IN (0)`` or
    ``id LIKE "%"``. This is a guard against the obvious ways to say "everything", not a
    theorem prover; a caller should still require explicit ids or a group for bulk actions.
    """
    if not condition:
        return True
    branch_true = True
    branch_empty = True
    for item in condition:
        if isinstance(item, str) and item.strip().upper() == "OR":
            if branch_true and not branch_empty:
                return True
            branch_true, branch_empty = True, True
        elif isinstance(item, str) and item.strip().upper() == "AND":
            continue
        else:
            branch_empty = False
            branch_true = branch_true and _clause_always_true(item)
    return branch_true and not branch_empty


def _clause_always_true(clause: object) -> bool:
    if not isinstance(clause, Mapping):
        return False
    raw_field = clause.get("field")
    name = raw_field.get("field") if isinstance(raw_field, Mapping) else raw_field
    if name != "id":
        return False
    op = clause.get("op")
    if not isinstance(op, str):
        return False
    op = " ".join(op.upper().split())
    value = clause.get("value")
    inner = value.get("value") if isinstance(value, Mapping) else value
    if op == "IS NOT":
        return isinstance(inner, str) and inner.upper() == "NULL"
    if op == "LIKE":
        return isinstance(inner, str) and inner != "" and set(inner) == {"%"}
    if op in ("<>", "!=") and inner == "":
        return True
    if op == "NOT IN" and isinstance(value, Mapping):
        entries = value.get("list")
        if not isinstance(entries, list):
            return False
        numbers = [_as_number(e.get("value") if isinstance(e, Mapping) else e) for e in entries]
        return all(number is not None and _never_an_id(number) for number in numbers)
    number = _as_number(inner)
    if number is None:
        return False
    return (
        (op == ">" and number < 1)
        or (op == ">=" and number <= 1)
        or (op in ("<>", "!=") and _never_an_id(number))
    )


def _never_an_id(number: float) -> bool:
    """Record ids are positive integers, so ``id <> x`` holds for every record when this is true."""
    return number < 1 or not number.is_integer()


def _as_number(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    number: int | float | None = None
    if isinstance(value, int | float):
        number = value
    elif isinstance(value, str):
        number = _to_number(value.strip())
    if number is None:
        return None
    try:
        result = float(number)
    except OverflowError:  # an int beyond float range is certainly not below 1
        return math.inf if number > 0 else -math.inf
    return result if math.isfinite(result) or isinstance(number, int) else None
