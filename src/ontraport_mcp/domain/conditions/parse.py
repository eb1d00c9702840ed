"""The recursive-descent parser of the readable syntax, and ``parse_condition``.

Separate because it holds the grammar and nothing else: tokens come from ``lexer``, field names
are resolved by ``fields``, values typed by ``values``, and the tree is flattened by
``flatten``. Grammar (EBNF; keywords are case-insensitive, whitespace separates tokens)::

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
``"New York"``; the first word of a value is always taken, so ``state = OR`` means Oregon.
``CONTAINS v`` on a list field becomes ``{"op": "CONTAINS", "value": {"value": <option id>}}``
(and ``DOES NOT CONTAIN`` likewise), the only form any source documents for ``*/*`` list fields
(API.md §1.9); on text fields ``CONTAINS v`` becomes ``LIKE "%v%"``, and as the API has no
``NOT LIKE``, ``DOES NOT CONTAIN`` is refused there. ``!=`` becomes ``<>``; ``= null`` and
``!= null`` (unquoted) are read as ``IS NULL`` and ``IS NOT NULL``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

from ...errors import QUOTE_CHARS, excerpt
from ..dates import utc_now
from .fields import FieldIndex, FieldInfo, category_of, clip, describe_field, field_key
from .flatten import Group, Node, flatten
from .lexer import Token, scan
from .limits import MAX_DEPTH, MAX_EXPRESSION_LENGTH, ConditionError, check_items
from .values import RawValue, member_value, null_clause, typed_value

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

_PREDICATE_STARTS: Final = frozenset({"in", "not", "like", "contains", "contain", "does", "is"})


class _Parser:
    def __init__(
        self, text: str, index: FieldIndex, now: datetime, tag_ids: Mapping[str, int]
    ) -> None:
        self.text = text
        self.tokens: list[Token] = []  # read so far; scan supplies more on demand
        self.source = scan(text)
        self.pos = 0
        self.index = index
        self.now = now
        self.tag_ids = tag_ids

    # -- token helpers ------------------------------------------------------------------------

    def peek(self, ahead: int = 0) -> Token:
        wanted = self.pos + ahead
        tokens = self.tokens
        while len(tokens) <= wanted and not (tokens and tokens[-1].kind == "end"):
            tokens.append(next(self.source))
        return tokens[min(wanted, len(tokens) - 1)]

    def take(self) -> Token:
        token = self.peek()
        if token.kind != "end":
            self.pos += 1
        return token

    def at_word(self, *words: str, ahead: int = 0) -> bool:
        token = self.peek(ahead)
        return token.kind == "word" and token.text.casefold() in words

    def unexpected(self, token: Token, expected: str) -> ConditionError:
        if token.kind == "end":
            return ConditionError(
                f"The condition ends too early: expected {expected}.", position=token.start
            )
        shown = clip(token.text) if token.kind == "string" else excerpt(token.text)
        return ConditionError(
            f"Unexpected {shown!r} at offset {token.start}: expected {expected}. Join conditions "
            "with AND/OR, and quote values that contain operators, commas or parentheses.",
            position=token.start,
        )

    # -- grammar ------------------------------------------------------------------------------

    def parse(self) -> Node:
        node = self.or_expr(0)
        token = self.peek()
        if token.kind != "end":
            raise self.unexpected(token, "AND, OR or the end of the condition")
        return node

    def or_expr(self, depth: int) -> Node:
        start = self.peek().start
        items = [self.and_expr(depth)]
        while self.at_word("or"):
            self.take()
            items.append(self.and_expr(depth))
            check_items(items, start)
        return items[0] if len(items) == 1 else Group("OR", tuple(items), start)

    def and_expr(self, depth: int) -> Node:
        start = self.peek().start
        items = [self.primary(depth)]
        while self.at_word("and"):
            self.take()
            items.append(self.primary(depth))
            check_items(items, start)
        return items[0] if len(items) == 1 else Group("AND", tuple(items), start)

    def primary(self, depth: int) -> Node:
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
        words: list[Token] = []
        named: list[tuple[int, FieldInfo]] = []  # (word count, field) of each run naming a field
        key = ""
        while (token := self.peek(len(words))).kind == "word":
            words.append(token)
            key += field_key(token.text)
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
                f'Expected an operator after field "{describe_field(info)}" at offset '
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
                return null_clause(info, negate=True)
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
                return null_clause(info, negate=negate)
            return self.scalar_clause(info, "<>" if negate else "=", self.value(token))
        raise ConditionError(
            f'Expected an operator after field "{describe_field(info)}" at offset '
            f"{token.start}, e.g. = != > < >= <= IN LIKE CONTAINS IS NULL.",
            position=token.start,
            choices=OPERATOR_CHOICES,
        )

    def value(self, operator: Token, *, in_list: bool = False) -> RawValue:
        token = self.peek()
        if token.kind == "string":
            self.take()
            return RawValue(token.text, True, token.start)
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
        return RawValue(self.text[first.start : last.end], False, first.start)

    # -- clause construction ------------------------------------------------------------------

    def list_clause(self, info: FieldInfo, op: str, operator: Token) -> dict[str, Any]:
        category = category_of(info)
        if category in ("list", "subscription"):
            raise ConditionError(
                f"{op} does not work on the multi-value field {describe_field(info)}; use "
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
            items.append({"value": typed_value(info, category, raw, self.now)})
            separator = self.take()
            if separator.kind == ")":
                break
            if separator.kind != ",":
                raise self.unexpected(separator, f"',' or ')' in the {op} list")
        return {"field": {"field": info.name}, "op": op, "value": {"list": items}}

    def scalar_clause(self, info: FieldInfo, op: str, raw: RawValue) -> dict[str, Any]:
        if op in ("=", "<>") and not raw.quoted and raw.text.casefold() == "null":
            return null_clause(info, negate=op == "<>")
        category = category_of(info)
        value: str | int | float
        if category in ("list", "subscription"):
            op = {"=": "CONTAINS", "<>": "DOES NOT CONTAIN"}.get(op, op)
            if op == "LIKE":
                value = raw.text
            elif op in ("CONTAINS", "DOES NOT CONTAIN"):
                value = member_value(info, category, raw, self.tag_ids)
            else:
                raise ConditionError(
                    f"{op} does not work on the multi-value field {describe_field(info)}; use "
                    "CONTAINS, DOES NOT CONTAIN, IS NULL or IS NOT NULL.",
                    position=raw.start,
                    choices=("CONTAINS", "DOES NOT CONTAIN", "IS NULL", "IS NOT NULL"),
                )
        elif op == "CONTAINS" and category == "text":
            op, value = "LIKE", f"%{raw.text}%"
        elif op in ("CONTAINS", "DOES NOT CONTAIN"):
            valid = ("=", "!=", "IN (...)", "NOT IN (...)", "LIKE", "IS NULL", "IS NOT NULL")
            raise ConditionError(
                f"{op} works only on list and tag fields, not on {describe_field(info)} "
                f"({info.type}); use =, !=, IN or LIKE"
                + (" (the API has no NOT LIKE)." if category == "text" else "."),
                position=raw.start,
                choices=valid,
            )
        elif op == "LIKE":
            value = raw.text
        else:
            value = typed_value(info, category, raw, self.now)
        return {"field": {"field": info.name}, "op": op, "value": {"value": value}}


def _starts_predicate(token: Token) -> bool:
    return token.kind == "op" or (
        token.kind == "word" and token.text.casefold() in _PREDICATE_STARTS
    )


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
    parser = _Parser(expression, FieldIndex(fields), utc_now(now), tag_ids or {})
    return flatten(parser.parse())
