"""Lua patterns, as used by Kong's ``match`` family of validators, run as Python regexes.

Kong's schemas write ``match = "^%u+$"`` and similar: these are Lua patterns, not
regexes.  :func:`lua_to_regex` translates one into an equivalent Python regex and
:func:`lua_find` answers ``string.find(subject, pattern) ~= nil``.

Lua matches bytes in the C locale, so the engine matches against the UTF-8 bytes of
the subject (decoded as Latin-1, one character per byte); ``.`` is one byte and
``%a`` is ASCII letters only, exactly as in Kong.  Supported: the classes
``%a %c %d %g %l %p %s %u %w %x %z`` and their complements, ``%`` escapes, sets
``[...]`` / ``[^...]`` with ranges and classes, ``.``, the quantifiers ``* + - ?``
(``-`` is the lazy ``*``), ``^``/``$`` anchors, captures, position captures ``()``,
back-references ``%1``-``%9`` and the frontier ``%f[set]``.  ``%b`` (balanced
match) has no regex equivalent and is rejected.
"""

from __future__ import annotations

import re
import string
from functools import lru_cache

__all__ = ["LuaPatternError", "lua_to_regex", "lua_find", "compile_lua_pattern"]


class LuaPatternError(ValueError):
    """A malformed or unsupported Lua pattern."""


def _codes(chars: str) -> frozenset[int]:
    return frozenset(ord(c) for c in chars)


_CLASSES: dict[str, frozenset[int]] = {
    "a": _codes(string.ascii_letters),
    "c": frozenset([*range(32), 127]),
    "d": _codes(string.digits),
    "g": frozenset(range(33, 127)),
    "l": _codes(string.ascii_lowercase),
    "p": _codes(string.punctuation),
    "s": _codes(" \t\n\r\f\v"),
    "u": _codes(string.ascii_uppercase),
    "w": _codes(string.ascii_letters + string.digits),
    "x": _codes(string.hexdigits),
    "z": frozenset([0]),
}
_BYTES = frozenset(range(256))
_QUANTIFIERS = {"*": "*", "+": "+", "-": "*?", "?": "?"}


def _class_codes(letter: str) -> frozenset[int] | None:
    """The byte set of ``%<letter>``, or None when the letter is no class (an escape)."""
    base = _CLASSES.get(letter.lower())
    if base is None:
        return None
    return base if letter.islower() else _BYTES - base


def _char(code: int) -> str:
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def _set_regex(codes: frozenset[int], portable: bool) -> str:
    """A regex character class matching exactly ``codes`` (byte values)."""
    ranges: list[list[int]] = []
    for code in sorted(codes):
        if ranges and code == ranges[-1][1] + 1:
            ranges[-1][1] = code
        else:
            ranges.append([code, code])
    if not ranges:
        return "[^\\x00-\\U0010ffff]"  # matches nothing, like an empty Lua set
    if portable and ranges[-1][1] == 255 and ranges[-1][0] <= 128:
        ranges[-1][1] = 0xFFFF  # a complemented class also matches every non-ASCII character
    parts = [_char(lo) if lo == hi else f"{_char(lo)}-{_char(hi)}" for lo, hi in ranges]
    return "[" + "".join(parts) + "]"


def _parse_set(pattern: str, pos: int) -> tuple[frozenset[int], int]:
    """Parse the set starting at ``pattern[pos] == '['``; return its bytes and the index after it."""
    end = len(pattern)
    i = pos + 1
    negate = i < end and pattern[i] == "^"
    if negate:
        i += 1
    # Lua's classEnd: the first character is always part of the set, even ']'
    close = i
    while True:
        if close >= end:
            raise LuaPatternError("malformed pattern (missing ']')")
        ch = pattern[close]
        close += 1
        if ch == "%":
            if close >= end:
                raise LuaPatternError("malformed pattern (missing ']')")
            close += 1
        if close < end and pattern[close] == "]":
            break
        if close >= end:
            raise LuaPatternError("malformed pattern (missing ']')")
    codes: set[int] = set()
    while i < close:
        ch = pattern[i]
        if ch == "%":
            letter = pattern[i + 1]
            cls = _class_codes(letter)
            codes.update(cls if cls is not None else (ord(letter),))
            i += 2
        elif i + 2 < close and pattern[i + 1] == "-":
            codes.update(range(ord(ch), ord(pattern[i + 2]) + 1))
            i += 3
        else:
            codes.add(ord(ch))
            i += 1
    result = frozenset(codes)
    return (_BYTES - result if negate else result), close + 1


def _single(pattern: str, i: int, portable: bool) -> tuple[str, int]:
    """Translate one single-character class at ``pattern[i]``."""
    ch = pattern[i]
    if ch == ".":
        return ("[\\s\\S]" if portable else "."), i + 1
    if ch == "[":
        codes, nxt = _parse_set(pattern, i)
        return _set_regex(codes, portable), nxt
    if ch == "%":
        if i + 1 >= len(pattern):
            raise LuaPatternError("malformed pattern (ends with '%')")
        letter = pattern[i + 1]
        cls = _class_codes(letter)
        if cls is not None:
            return _set_regex(cls, portable), i + 2
        return re.escape(letter), i + 2
    return re.escape(ch), i + 1


def _frontier(codes: frozenset[int], portable: bool) -> str:
    """``%f[set]``: the previous character is not in the set and the next one is.

    The start and the end of the subject count as the character ``\\0``.
    """
    inside = _set_regex(codes, portable)
    outside = _set_regex(_BYTES - codes, portable)
    zero_in = 0 in codes
    behind = f"(?<={outside})" if zero_in else f"(?<!{inside})"
    ahead = f"(?:(?={inside})|\\Z)" if zero_in else f"(?={inside})"
    if portable:
        ahead = ahead.replace("\\Z", "$")
    return behind + ahead


def lua_to_regex(pattern: str, *, portable: bool = False) -> str:
    """Translate a Lua pattern into a Python regex with the same ``find`` semantics.

    With ``portable=False`` (the engine's mode) the regex is meant for
    :func:`compile_lua_pattern`: byte semantics, ``$`` as ``\\Z``.  With
    ``portable=True`` it is meant for a JSON Schema ``pattern``: it applies to the
    text itself, ``.`` is ``[\\s\\S]`` and ``$`` stays ``$``.
    """
    if not isinstance(pattern, str):
        raise LuaPatternError(f"pattern must be a string, got {type(pattern).__name__}")
    if not portable:
        pattern = pattern.encode("utf-8").decode("latin-1")
    out: list[str] = []
    i, end, depth, closed = 0, len(pattern), 0, 0
    if pattern.startswith("^"):
        out.append("^")
        i = 1
    while i < end:
        ch = pattern[i]
        if ch == "(":
            if pattern.startswith("()", i):
                out.append("()")
                closed += 1
                i += 2
            else:
                out.append("(")
                depth += 1
                i += 1
            continue
        if ch == ")":
            if depth == 0:
                raise LuaPatternError("invalid pattern capture")
            depth -= 1
            closed += 1
            out.append(")")
            i += 1
            continue
        if ch == "$" and i == end - 1:
            out.append("$" if portable else "\\Z")
            i += 1
            continue
        if ch == "%" and i + 1 < end:
            nxt = pattern[i + 1]
            if nxt == "b":
                raise LuaPatternError("'%b' (balanced match) is not supported")
            if nxt == "f":
                if i + 2 >= end or pattern[i + 2] != "[":
                    raise LuaPatternError("missing '[' after '%f' in pattern")
                codes, i = _parse_set(pattern, i + 2)
                out.append(_frontier(codes, portable))
                continue
            if nxt.isdigit():
                if nxt == "0" or int(nxt) > closed:
                    raise LuaPatternError(f"invalid capture index %{nxt}")
                out.append(f"(?:\\{nxt})")
                i += 2
                continue
        item, i = _single(pattern, i, portable)
        if i < end and pattern[i] in _QUANTIFIERS:
            item += _QUANTIFIERS[pattern[i]]
            i += 1
        out.append(item)
    if depth:
        raise LuaPatternError("unfinished capture")
    return "".join(out)


@lru_cache(maxsize=1024)
def compile_lua_pattern(pattern: str) -> re.Pattern[str]:
    """Compile a Lua pattern for :func:`lua_find` (cached)."""
    regex = lua_to_regex(pattern)
    try:
        return re.compile(regex, re.DOTALL)
    except re.error as exc:  # pragma: no cover - the translator only emits valid regexes
        raise LuaPatternError(f"cannot translate pattern {pattern!r}: {exc}") from exc


def lua_find(pattern: str, subject: str) -> bool:
    """True when the Lua pattern matches somewhere in ``subject`` (``string.find``)."""
    return compile_lua_pattern(pattern).search(subject.encode("utf-8").decode("latin-1")) is not None
