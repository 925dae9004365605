"""One test per matching rule of the traditional_compatible router (host/router/router.py)."""

from __future__ import annotations

import uuid

import pytest

from host.router import Router
from host.router._compile import SPLIT_NAMESPACE, translate_regex
from tests.host.router.helpers import SERVICES, match, name_of, route, uid


def build(*routes: dict) -> Router:
    return Router(list(routes), SERVICES)


# --- hosts ---------------------------------------------------------------------------


def test_exact_host_is_case_insensitive_and_ignores_the_host_header_port() -> None:
    router = build(route("h", 1, hosts=["API.example.com"]))
    assert name_of(match(router, host="api.example.com")) == "h"
    assert name_of(match(router, host="Api.Example.COM:9999")) == "h"
    assert match(router, host="example.com") is None
    assert match(router, host="xapi.example.com") is None


def test_suffix_wildcard_host_matches_any_number_of_labels_but_not_the_bare_domain() -> None:
    router = build(route("w", 1, hosts=["*.example.com"]))
    assert name_of(match(router, host="a.example.com")) == "w"
    assert name_of(match(router, host="a.b.example.com:8080")) == "w"
    assert match(router, host="example.com") is None
    assert match(router, host="aexample.com") is None


def test_prefix_wildcard_host_matches_any_tail() -> None:
    router = build(route("w", 1, hosts=["example.*"]))
    assert name_of(match(router, host="example.org")) == "w"
    assert name_of(match(router, host="example.co.uk")) == "w"
    assert match(router, host="www.example.org") is None
    assert match(router, host="examples.org") is None


def test_host_with_port_compares_the_listener_port_not_the_host_header_port() -> None:
    router = build(route("p", 1, hosts=["api.example.com:8443"]))
    assert name_of(match(router, host="api.example.com", port=8443)) == "p"
    assert name_of(match(router, host="api.example.com:1234", port=8443)) == "p"
    assert match(router, host="api.example.com:8443", port=8000) is None


def test_wildcard_host_with_port() -> None:
    router = build(route("wp", 1, hosts=["*.example.com:8443"]), route("w", 2, hosts=["*.example.net"]))
    assert name_of(match(router, host="a.example.com", port=8443)) == "wp"
    assert match(router, host="a.example.com", port=8000) is None
    assert name_of(match(router, host="a.example.net", port=1)) == "w"


def test_ipv6_host_header() -> None:
    router = build(route("v6", 1, hosts=["[::1]"]), route("v6p", 2, hosts=["[::2]:8443"]))
    assert name_of(match(router, host="[::1]")) == "v6"
    assert name_of(match(router, host="[::1]:8000")) == "v6"
    assert name_of(match(router, host="[::2]", port=8443)) == "v6p"
    assert match(router, host="[::2]", port=8000) is None


def test_route_with_several_hosts_matches_any_of_them() -> None:
    router = build(route("m", 1, hosts=["a.com", "*.b.com", "c.*"]))
    hosts = ("a.com", "x.b.com", "c.io", "d.com")
    assert [name_of(match(router, host=h)) for h in hosts] == ["m", "m", "m", None]


# --- paths ---------------------------------------------------------------------------


def test_prefix_path_is_a_plain_string_prefix() -> None:
    router = build(route("p", 1, paths=["/foo"]))
    assert name_of(match(router, "/foo")) == "p"
    assert name_of(match(router, "/foobar")) == "p"
    assert name_of(match(router, "/foo/bar")) == "p"
    assert match(router, "/fo") is None
    assert match(router, "/x/foo") is None


def test_prefix_path_is_not_normalized_nor_case_folded() -> None:
    router = build(route("p", 1, paths=["/a%58"]))
    assert match(router, "/aX") is None
    assert match(router, "/A%58") is None
    assert name_of(match(router, "/a%58")) == "p"


def test_regex_path_is_anchored_at_start_only() -> None:
    router = build(route("r", 1, paths=[r"~/users/\d+"]))
    assert name_of(match(router, "/users/42")) == "r"
    assert name_of(match(router, "/users/42/anything")) == "r"
    assert match(router, "/api/users/42") is None


def test_regex_dollar_anchors_at_the_very_end() -> None:
    router = build(route("r", 1, paths=[r"~/exact$"]))
    assert name_of(match(router, "/exact")) == "r"
    assert match(router, "/exact/more") is None
    assert match(router, "/exact\n") is None  # Rust's "$" does not match before a final newline


def test_regex_alternation_is_anchored_only_on_the_first_branch_like_kong() -> None:
    # Kong prepends "^" to the pattern text, so "^/a|/b" finds "/b" anywhere.
    router = build(route("r", 1, paths=["~/a|/b"]))
    assert name_of(match(router, "/x/b")) == "r"


@pytest.mark.parametrize(
    ("kong", "python"),
    [
        (r"/v(?<ver>\d+)/x$", r"/v(?P<ver>\d+)/x\Z"),
        (r"/a[$]b\$c\z", r"/a[$]b\$c\Z"),
        (r"(?<=x)y(?<!z)", r"(?<=x)y(?<!z)"),
        (r"/[^]$]+$", r"/[^]$]+\Z"),
    ],
)
def test_regex_translation(kong: str, python: str) -> None:
    assert translate_regex(kong) == python


def test_regex_with_leading_inline_flags() -> None:
    router = build(route("r", 1, paths=["~(?i)/admin"]))
    assert name_of(match(router, "/ADMIN/x")) == "r"
    assert match(router, "/x/admin") is None


def test_invalid_regex_names_the_route() -> None:
    with pytest.raises(ValueError, match=r"routes\[0\] .*name=bad.*paths\[1\]"):
        build(route("bad", 1, paths=["/ok", "~/(unclosed"]))


# --- methods and headers ------------------------------------------------------------


def test_methods_are_exact_and_case_sensitive() -> None:
    router = build(route("m", 1, methods=["GET", "HEAD"]))
    assert name_of(match(router, method="GET")) == "m"
    assert name_of(match(router, method="HEAD")) == "m"
    assert match(router, method="POST") is None
    assert match(router, method="get") is None


def test_header_names_and_values_are_case_insensitive() -> None:
    router = build(route("h", 1, headers={"X-Version": ["V1"]}))
    assert name_of(match(router, headers={"x-version": "v1"})) == "h"
    assert name_of(match(router, headers={"X-VERSION": "v1"})) == "h"
    assert match(router, headers={"x-version": "v2"}) is None
    assert match(router) is None


def test_header_any_request_value_may_match_any_configured_value() -> None:
    router = build(route("h", 1, headers={"x-env": ["staging", "prod"]}))
    assert name_of(match(router, headers=[("x-env", "dev"), ("x-env", "PROD")])) == "h"
    assert match(router, headers=[("x-env", "dev"), ("x-env", "qa")]) is None


def test_header_regex_is_unanchored_on_the_lowercased_value() -> None:
    router = build(
        route("h", 1, headers={"x-version": ["~*^v[0-9]+$"]}), route("c", 2, headers={"ua": ["~*bot"]})
    )
    assert name_of(match(router, headers={"x-version": "V12"})) == "h"
    assert match(router, headers={"x-version": "v12-beta"}) is None
    assert name_of(match(router, headers={"ua": "Mozilla GoogleBot/2"})) == "c"


def test_header_names_are_anded() -> None:
    router = build(route("h", 1, headers={"a": ["1"], "b": ["2"]}))
    assert name_of(match(router, headers={"a": "1", "b": "2"})) == "h"
    assert match(router, headers={"a": "1"}) is None
    assert match(router, headers={"a": "1", "b": "3"}) is None


def test_header_underscore_and_dash_are_the_same_name() -> None:
    # Kong looks the name up with "-" turned into "_", falling back to the dashed form.
    router = build(route("h", 1, headers={"x-api-version": ["2"]}))
    assert name_of(match(router, headers={"X_Api_Version": "2"})) == "h"
    assert name_of(match(router, headers={"x-api-version": "2"})) == "h"


# --- snis -------------------------------------------------------------------------------


def test_sni_only_applies_to_https() -> None:
    router = build(route("s", 1, snis=["api.example.com"], paths=["/"]))
    assert name_of(match(router, scheme="http")) == "s"
    assert name_of(match(router, scheme="https", sni="API.example.com")) == "s"
    assert match(router, scheme="https", sni="other.example.com") is None
    assert match(router, scheme="https", sni=None) is None


def test_sni_wildcards_and_trailing_dot() -> None:
    router = build(route("suffix", 1, snis=["*.example.com"]), route("prefix", 2, snis=["shop.*"]))
    assert name_of(match(router, scheme="https", sni="a.example.com")) == "suffix"
    assert name_of(match(router, scheme="https", sni="shop.io")) == "prefix"
    assert match(router, scheme="https", sni="example.com") is None
    router = build(route("dot", 1, snis=["api.example.com."]))
    assert name_of(match(router, scheme="https", sni="api.example.com")) == "dot"


# --- priority ---------------------------------------------------------------------------


def test_more_match_categories_win_over_a_longer_prefix() -> None:
    router = build(
        route("long", 1, paths=["/orders/recent"]), route("method", 2, paths=["/o"], methods=["GET"])
    )
    assert name_of(match(router, "/orders/recent")) == "method"
    assert name_of(match(router, "/orders/recent", method="POST")) == "long"


def test_plain_host_beats_wildcard_host_with_a_longer_path() -> None:
    router = build(
        route("wild", 1, hosts=["*.example.com"], paths=["/api/v1/long"]),
        route("plain", 2, hosts=["a.example.com"], paths=["/"]),
    )
    assert name_of(match(router, "/api/v1/long", host="a.example.com")) == "plain"
    assert name_of(match(router, "/api/v1/long", host="b.example.com")) == "wild"


def test_wildcard_host_route_beats_a_route_without_hosts() -> None:
    router = build(route("nohost", 1, paths=["/api/long"]), route("wild", 2, hosts=["*.com"], paths=["/"]))
    assert name_of(match(router, "/api/long", host="x.com")) == "wild"


def test_more_header_names_win_over_a_longer_prefix() -> None:
    router = build(
        route("one", 1, headers={"version": ["v1"]}, paths=["/my-route/hello"]),
        route("two", 2, headers={"version": ["v1"], "location": ["us-east"]}, paths=["/my-route"]),
    )
    both = {"version": "v1", "location": "us-east"}
    assert name_of(match(router, "/my-route/hello", headers=both)) == "two"
    assert name_of(match(router, "/my-route/hello", headers={"version": "v1"})) == "one"


def test_regex_beats_prefix_of_any_length() -> None:
    router = build(
        route("prefix", 9, paths=["/users/123/profile/settings"]), route("regex", 1, paths=[r"~/users/\d+"])
    )
    assert name_of(match(router, "/users/123/profile/settings")) == "regex"
    assert name_of(match(router, "/users/abc/profile/settings")) is None


def test_higher_regex_priority_wins_among_regex_routes() -> None:
    router = build(
        route("low", 9, paths=[r"~/items/\d+"]),
        route("high", 1, paths=[r"~/items/(?<id>\d+)/x"], regex_priority=5),
        route("negative", 8, paths=["~/items"], regex_priority=-1),
    )
    assert name_of(match(router, "/items/7/x")) == "high"
    assert name_of(match(router, "/items/7")) == "low"
    assert name_of(match(router, "/items/z")) == "negative"


def test_regex_priority_is_ignored_for_prefix_paths() -> None:
    router = build(route("short", 1, paths=["/"], regex_priority=100), route("long", 2, paths=["/v1"]))
    assert name_of(match(router, "/v1")) == "long"


def test_longer_prefix_wins() -> None:
    router = build(route("a", 2, paths=["/a"]), route("ab", 1, paths=["/a/b"]))
    assert name_of(match(router, "/a/b/c")) == "ab"
    assert name_of(match(router, "/a/c")) == "a"


def test_equal_priority_is_broken_by_the_higher_route_id() -> None:
    router = build(route("low-id", 1, paths=["/same"]), route("high-id", 2, paths=["/same"]))
    assert name_of(match(router, "/same")) == "high-id"
    router = build(route("high-id", 7, paths=["/same"]), route("low-id", 3, paths=["/same"]))
    assert name_of(match(router, "/same")) == "high-id"


# --- route splitting -----------------------------------------------------------------


def test_prefixes_of_different_lengths_get_their_own_priority() -> None:
    router = build(route("split", 1, paths=["/foo", "/foo/bar/baz"]), route("middle", 2, paths=["/foo/bar"]))
    assert name_of(match(router, "/foo/bar/baz/x")) == "split"
    assert name_of(match(router, "/foo/bar/x")) == "middle"
    assert name_of(match(router, "/foo/x")) == "split"
    assert len(router) == 3


def test_regex_part_of_a_mixed_route_does_not_lift_its_prefixes() -> None:
    router = build(route("mixed", 1, paths=["~/some/thing", "/foo"]), route("prefix", 2, paths=["/foo/bar"]))
    result = match(router, "/some/thing/else")
    assert name_of(result) == "mixed"
    assert result is not None and result.route is router._entries[0].route  # the original route is reported
    assert name_of(match(router, "/foo/bar")) == "prefix"
    assert name_of(match(router, "/foo/x")) == "mixed"


def test_split_parts_tie_break_on_their_uuid5_ids() -> None:
    # The "/abc" part of "split" is its group 2, with id uuid5(ns, "<id>#2") = 88c08b1f-...
    # (Python's uuid5 gives the same ids as lua-resty-jit-uuid, which Kong uses).
    part_id = str(uuid.uuid5(SPLIT_NAMESPACE, f"{uid(1)}#2"))
    assert part_id == "88c08b1f-2356-5fee-847d-a5eb1652c82d"
    below, above = "50000000-0000-4000-8000-000000000000", "90000000-0000-4000-8000-000000000000"
    for other_id, expected in ((below, "split"), (above, "other")):
        split = route("split", 1, paths=["/a", "/abc"])
        other = route("other", 2, paths=["/abc"], id=other_id)
        # the original id (0000...01) is lower than both: only the part's id can make "split" win
        assert name_of(match(build(split, other), "/abc")) == expected


# --- captures, flags, services ------------------------------------------------------------


def test_regex_captures_numbered_and_named() -> None:
    router = build(route("r", 1, paths=[r"~/users/(?<user>\d+)/(\w+)"]))
    result = match(router, "/users/42/orders/9")
    assert result is not None
    assert result.uri_captures == {"unnamed": ["/users/42/orders", "42", "orders"], "named": {"user": "42"}}
    assert result.matched_path == "/users/42/orders"


def test_optional_group_that_did_not_match_is_none_and_not_named() -> None:
    router = build(route("r", 1, paths=[r"~/(users/)?1984/(?<sub>profile)$"]))
    result = match(router, "/1984/profile")
    assert result is not None
    assert result.uri_captures == {"unnamed": ["/1984/profile", None, "profile"], "named": {"sub": "profile"}}


def test_no_captures_for_prefix_paths_and_groupless_regexes() -> None:
    empty = {"unnamed": [], "named": {}}
    router = build(route("p", 1, paths=["/hello"]), route("r", 2, paths=[r"~/users/\d+"]))
    assert match(router, "/hello/world").uri_captures == empty  # type: ignore[union-attr]
    assert match(router, "/users/1").uri_captures == empty  # type: ignore[union-attr]


def test_uri_captures_are_a_fresh_copy() -> None:
    router = build(route("r", 1, paths=[r"~/(?<a>x)"]))
    first = match(router, "/x")
    assert first is not None
    first.uri_captures["named"]["a"] = "changed"
    assert match(router, "/x").uri_captures["named"] == {"a": "x"}  # type: ignore[union-attr]


def test_strip_path_and_preserve_host_are_reported() -> None:
    router = build(
        route("kept", 1, paths=["/k"], strip_path=False, preserve_host=True),
        route("stripped", 2, paths=["/s"]),
    )
    kept, stripped = match(router, "/k/1"), match(router, "/s/1")
    assert kept is not None and stripped is not None
    assert (kept.strip_path, kept.preserve_host) == (False, True)
    assert (kept.prefix, kept.stripped_prefix, kept.matched_path) == ("/", None, "/k")
    assert (stripped.strip_path, stripped.preserve_host) == (True, False)
    assert (stripped.prefix, stripped.stripped_prefix) == ("/s", "/s")


def test_routes_of_a_disabled_service_are_left_out() -> None:
    router = build(
        route("off", 1, paths=["/legacy"], service={"id": "svc-off"}), route("on", 2, paths=["/leg"])
    )
    assert name_of(match(router, "/legacy/x")) == "on"


def test_service_is_returned_and_unknown_service_is_an_error() -> None:
    router = build(route("r", 1, paths=["/"], service={"id": "svc-api"}))
    assert match(router).service is SERVICES["svc-api"]  # type: ignore[union-attr]
    with pytest.raises(ValueError, match="service nope not found"):
        build(route("r", 1, paths=["/"], service={"id": "nope"}))


def test_protocols_are_not_part_of_the_match_but_stream_routes_are_skipped() -> None:
    router = build(
        route("https-only", 1, paths=["/"], protocols=["https"]),
        route("tcp", 2, protocols=["tcp"], snis=["x"], paths=None),
    )
    assert name_of(match(router, scheme="http")) == "https-only"
    assert len(router) == 1


def test_invalid_utf8_path_matches_nothing() -> None:
    router = build(route("p", 1, paths=["/"]))
    assert match(router, "/bad\udcff") is None
    assert name_of(match(router, "/café")) == "p"
