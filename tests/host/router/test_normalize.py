"""Request-path normalization and upstream escaping (host/router/normalize.py)."""

from __future__ import annotations

import pytest

from host.router.normalize import RESERVED_CHARS, escape_path, normalize_path


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("", ""),
        ("/", "/"),
        ("/plain/path", "/plain/path"),
        # unreserved characters are decoded, whatever the case of the hex digits
        ("/%7euser", "/~user"),
        ("/%7Euser", "/~user"),
        ("/%41%62%2D%5f%2e", "/Ab-_."),
        # "other" characters are decoded too
        ("/a%20b", "/a b"),
        ("/%22quoted%22", '/"quoted"'),
        ("/caf%C3%A9", "/café"),
        # decoding is one pass over bytes: a decoded "%" does not start a new triplet
        ("/%2541", "/%2541"),
        # malformed triplets are left alone
        ("/100%", "/100%"),
        ("/%zz/%4", "/%zz/%4"),
    ],
)
def test_percent_decoding(raw: str, expected: str) -> None:
    assert normalize_path(raw) == expected


@pytest.mark.parametrize("char", list(RESERVED_CHARS))
def test_reserved_characters_stay_encoded_with_uppercase_hex(char: str) -> None:
    lower_hex = f"%{ord(char):02x}"
    upper_hex = f"%{ord(char):02X}"
    assert normalize_path(f"/x{lower_hex}y") == f"/x{upper_hex}y"
    assert normalize_path(f"/x{upper_hex}y") == f"/x{upper_hex}y"


def test_encoded_slash_is_not_a_separator() -> None:
    assert normalize_path("/a/..%2fb") == "/a/..%2Fb"
    assert normalize_path("/a%2F..%2Fb") == "/a%2F..%2Fb"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("/a/./b", "/a/b"),
        ("/a/../b", "/b"),
        ("/a/b/..", "/a/"),
        ("/a/b/.", "/a/b/"),
        ("/..", "/"),
        ("/.", "/"),
        ("/../../a", "/a"),
        ("/a/b/../../../c", "/c"),
        ("/a/b/c/./../../g", "/a/g"),
        ("/mid/content=5/../6", "/mid/6"),
        # encoded dots are decoded first, then resolved
        ("/a/%2e%2E/b", "/b"),
        ("/a/%2E/b", "/a/b"),
        # names that merely contain dots are segments like any other
        ("/a./b", "/a./b"),
        ("/..a/b", "/..a/b"),
        ("/.hidden", "/.hidden"),
        ("/a/...", "/a/..."),
        ("/route./req", "/route./req"),
    ],
)
def test_dot_segments(raw: str, expected: str) -> None:
    assert normalize_path(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("//a", "/a"),
        ("/a//b///c", "/a/b/c"),
        ("/a//", "/a/"),
        ("/a/.//b", "/a/b"),
        ("/a//../b", "/b"),
    ],
)
def test_double_slashes_are_merged(raw: str, expected: str) -> None:
    assert normalize_path(raw) == expected


def test_invalid_utf8_is_kept_as_surrogates_and_escaped_back() -> None:
    path = normalize_path("/bad%FF")
    assert path == "/bad\udcff"
    assert escape_path(path) == "/bad%FF"


def test_normalization_is_idempotent() -> None:
    once = normalize_path("/a/%7e/../b%2f/./c//%20d")
    assert once == "/a/b%2F/c/ d"
    assert normalize_path(once) == once


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/plain/path-1_2.3~", "/plain/path-1_2.3~"),
        ("/keep!#$&'()*+,/:;=?@[]", "/keep!#$&'()*+,/:;=?@[]"),
        ("/already%2Fencoded%25", "/already%2Fencoded%25"),
        ("/a b", "/a%20b"),
        ('/"q"', "/%22q%22"),
        ("/<x>", "/%3Cx%3E"),
        ("/{x}|^`\\", "/%7Bx%7D%7C%5E%60%5C"),
        ("/café", "/caf%C3%A9"),
        ("/tab\there", "/tab%09here"),
    ],
)
def test_escape_path(path: str, expected: str) -> None:
    assert escape_path(path) == expected
