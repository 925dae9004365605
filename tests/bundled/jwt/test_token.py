"""Units of py_plugins/jwt/_token.py: strict decoding and the bounded cache of verified tokens."""

from __future__ import annotations

import pytest

from py_plugins.jwt._token import TokenError, VerifiedCache, b64url_decode, claim_errors, decode
from tests.bundled.jwt._helpers import token


def test_decode_reads_header_claims_and_signature():
    decoded = decode(token({"sub": "x"}))
    assert decoded.alg == "HS256"
    assert decoded.claims == {"iss": "alice-key", "sub": "x"}
    assert len(decoded.signature) == 32


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("abc", "invalid JSON"),
        ("a.b", "invalid JSON"),
        ("e30.e30.sig", "invalid alg"),  # {} has no alg
        ("eyJhbGciOiJub25lIn0.e30.", "invalid alg"),  # alg none
        ("eyJhbGciOiJIUzI1NiJ9.e30.a", "invalid signature"),  # base64 of length 1
        ("eyJhbGciOiJIUzI1NiJ9.e3=0.", "invalid JSON"),  # '=' inside: strict base64
    ],
)
def test_decode_errors(text, reason):
    with pytest.raises(TokenError, match=reason):
        decode(text)


def test_b64url_accepts_both_alphabets_without_padding():
    assert b64url_decode("-_8") == b"\xfb\xff"
    assert b64url_decode("+/8") == b"\xfb\xff"


def test_claim_errors_order_and_maximum_expiration():
    assert claim_errors({"exp": 10, "nbf": 5}, ["nbf", "exp"], 0, 100) == {"exp": "token expired"}
    assert claim_errors({"exp": 1000}, ["exp"], 100, 100) == {"exp": "exceeds maximum allowed expiration"}
    assert claim_errors({"exp": 150}, ["exp"], 100, 100) is None
    assert claim_errors({}, None, 0, 100) is None


def test_verified_cache_is_bounded_lru_and_keyed_by_variant():
    cache = VerifiedCache(size=2, max_token=20)
    a, b, c = decode(token()), decode(token({"n": 1})), decode(token({"n": 2}))
    cache.put("a", "cred", "v", a)
    cache.put("b", "cred", "v", b)
    assert cache.get("a", "v") == ("cred", a)  # a is now the most recent
    cache.put("c", "cred", "v", c)
    assert cache.get("b", "v") is None  # evicted
    assert cache.get("a", "other-variant") is None
    cache.put("x" * 21, "cred", "v", a)  # too long to be cached
    assert len(cache) == 2
