"""Lua patterns translated to Python regexes behave like Lua's ``string.find``."""

from __future__ import annotations

import re

import pytest

from host.schema.lua_pattern import LuaPatternError, lua_find, lua_to_regex


@pytest.mark.parametrize(
    ("pattern", "subject", "found"),
    [
        ("^%u+$", "GET", True),
        ("^%u+$", "Get", False),
        ("^%u+$", "GET\n", False),  # Lua's $ is the very end, not "before a final newline"
        ("^%d+$", "0123", True),
        ("^%a+$", "abcXYZ", True),
        ("^%a+$", "abc1", False),
        ("^%l+$", "abc", True),
        ("^%l+$", "aBc", False),
        ("^%w+$", "ab12", True),
        ("^%w+$", "ab_12", False),
        ("^%x+$", "deadBEEF09", True),
        ("^%x+$", "xyz", False),
        ("^%s$", "\t", True),
        ("^%p+$", "!?.,", True),
        ("^%c$", "\x07", True),
        ("^%S+$", "no-space", True),
        ("^%S+$", "a space", False),
        ("^%D$", "a", True),
        ("^%D$", "1", False),
        ("%.", "a.b", True),
        ("%.", "ab", False),
        ("a.c", "a\nc", True),  # '.' matches any byte, newline included
        ("^[%w%.%-%_~]+$", "my-name_1.2~x", True),
        ("^[%w%.%-%_~]+$", "my name", False),
        ("^[^*]*%*?[^*]*$", "*.example.com", True),
        ("^[^*]*%*?[^*]*$", "*.*.com", False),
        ("[]]", "a]b", True),  # ']' first in a set is literal
        ("[^]]", "]", False),
        ("^[a-c]+$", "abcabc", True),
        ("^[a-c]+$", "abcd", False),
        ("^[%a-]+$", "a-b", True),  # a trailing '-' in a set is literal
        ("^a-b$", "b", True),  # '-' after a class is the lazy '*'
        ("^a-b$", "aaab", True),
        ("^ab?c$", "ac", True),
        ("^ab+c$", "ac", False),
        ("a^b", "a^b", True),  # '^' not at the start is literal
        ("a$b", "a$b", True),  # '$' not at the end is literal
        ("^(a)%1$", "aa", True),
        ("^(a)%1$", "ab", False),
        ("^()a$", "a", True),
        ("%f[%w]foo", "a foo", True),
        ("%f[%w]foo", "afoo", False),
        ("%f[%W]", "abc", True),  # the end of the subject counts as '\0'
        ("^%*%.", "*.example.com", True),
        ("%.%*$", "example.*", True),
        ("^%d+[%.%d]*%-?.*$", "1.2.3-beta", True),
        ("%.%.", "1..2", True),
        ("^%z$", "\x00", True),
    ],
)
def test_patterns_match_like_lua(pattern: str, subject: str, found: bool) -> None:
    assert lua_find(pattern, subject) is found


def test_matching_works_on_utf8_bytes_like_lua() -> None:
    # one 'é' is two bytes in Lua: '.' matches a byte, %a matches ASCII letters only
    assert lua_find("^..$", "é")
    assert not lua_find("^.$", "é")
    assert not lua_find("^%a+$", "é")
    assert lua_find("^[\x80-\xff]+$", "é")


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        ("[abc", "missing ']'"),
        ("abc%", "ends with '%'"),
        ("(abc", "unfinished capture"),
        ("abc)", "invalid pattern capture"),
        ("%b()", "'%b'"),
        ("%1", "invalid capture index"),
        ("%fx", "missing '['"),
    ],
)
def test_malformed_patterns_are_rejected(pattern: str, message: str) -> None:
    with pytest.raises(LuaPatternError, match=re.escape(message)):
        lua_to_regex(pattern)


def test_portable_translation_is_a_plain_regex_over_text() -> None:
    regex = lua_to_regex("^%u+%.[^%s]*$", portable=True)
    assert regex.endswith("$") and "\\Z" not in regex
    assert re.search(regex, "ABC.déf")
    assert not re.search(regex, "ABC.d f")
    assert lua_to_regex("a.b", portable=True) == "a[\\s\\S]b"
