"""The match cache and the candidate index of the router (host/router/router.py, _index.py)."""

from __future__ import annotations

from typing import Any

import pytest

from host.router import Router
from tests.host.router.helpers import SERVICES, match, name_of, route


def counting(router: Router) -> list[int]:
    """Make ``router`` count its uncached lookups; returns the one-element counter."""
    calls = [0]
    find = router._find

    def wrapper(*args: Any) -> Any:
        calls[0] += 1
        return find(*args)

    router._find = wrapper  # type: ignore[method-assign]
    return calls


# --- cache ------------------------------------------------------------------------------


def test_hits_and_misses_are_cached() -> None:
    router = Router([route("r", 1, paths=[r"~/r/(\d+)"])], SERVICES)
    calls = counting(router)
    first = match(router, "/r/1")
    assert match(router, "/r/1") is first
    assert match(router, "/nothing") is None
    assert match(router, "/nothing") is None
    assert calls[0] == 2


def test_cache_disabled_looks_up_every_time() -> None:
    router = Router([route("r", 1, paths=["/"])], SERVICES, cache_size=0)
    calls = counting(router)
    match(router, "/a")
    match(router, "/a")
    assert calls[0] == 2


def test_cache_is_a_bounded_lru() -> None:
    router = Router([route("r", 1, paths=["/"])], SERVICES, cache_size=2)
    calls = counting(router)
    for path in ("/a", "/b", "/a", "/c"):  # "/a" is refreshed, so "/b" is the one evicted
        match(router, path)
    assert calls[0] == 3
    match(router, "/a")
    assert calls[0] == 3
    match(router, "/b")
    assert calls[0] == 4
    assert len(router._hits) == 2


def test_cache_key_includes_header_values_when_routes_use_headers() -> None:
    router = Router(
        [route("beta", 1, paths=["/"], headers={"x-beta": ["on"]}), route("main", 2, paths=["/"])], SERVICES
    )
    assert name_of(match(router, headers={"x-beta": "on"})) == "beta"
    assert name_of(match(router)) == "main"
    assert name_of(match(router, headers={"X_Beta": "on"})) == "beta"
    assert name_of(match(router, headers={"x-beta": "on"})) == "beta"


def test_cache_key_includes_listener_port_when_a_host_has_a_port() -> None:
    router = Router([route("p", 1, hosts=["a.com:8443"]), route("any", 2, paths=["/"])], SERVICES)
    assert name_of(match(router, host="a.com", port=8443)) == "p"
    assert name_of(match(router, host="a.com", port=8000)) == "any"


def test_cache_key_includes_scheme_and_sni_when_a_route_has_snis() -> None:
    router = Router([route("s", 1, paths=["/"], snis=["a.com"])], SERVICES)
    assert name_of(match(router, scheme="https", sni="a.com")) == "s"
    assert match(router, scheme="https", sni="b.com") is None
    assert name_of(match(router, scheme="http", sni="b.com")) == "s"


def test_clear_cache() -> None:
    router = Router([route("r", 1, paths=["/"])], SERVICES)
    calls = counting(router)
    match(router)
    router.clear_cache()
    match(router)
    assert calls[0] == 2


# --- index ------------------------------------------------------------------------------


def evaluated(router: Router, **request: Any) -> tuple[str | None, int]:
    result = name_of(match(router, **request))
    return result, router.last_evaluated


@pytest.mark.parametrize("count", [10, 1000])
def test_prefix_routes_are_found_through_the_index(count: int) -> None:
    router = Router([route(f"svc{i}", i, paths=[f"/svc{i}"]) for i in range(count)], SERVICES, cache_size=0)
    assert evaluated(router, path="/svc7/orders") == ("svc7", 1)
    assert evaluated(router, path=f"/svc{count - 1}") == (f"svc{count - 1}", 1)
    # a miss probes one dict per distinct prefix length and tests no route at all
    assert evaluated(router, path="/nothing/here") == (None, 0)


def test_prefix_lookup_cost_does_not_grow_with_the_number_of_routes() -> None:
    small = Router([route(f"s{i}", i, paths=[f"/s/{i:04d}"]) for i in range(10)], SERVICES, cache_size=0)
    large = Router([route(f"s{i}", i, paths=[f"/s/{i:04d}"]) for i in range(1000)], SERVICES, cache_size=0)
    assert evaluated(small, path="/s/0005/x") == ("s5", 1)
    assert evaluated(large, path="/s/0005/x") == ("s5", 1)
    assert evaluated(large, path="/s/0999/x") == ("s999", 1)
    assert small._index.anyhost.lengths == large._index.anyhost.lengths == (7,)  # type: ignore[union-attr]


def test_host_routes_are_found_through_the_index() -> None:
    routes = [route(f"h{i}", i, hosts=[f"svc{i}.example.com"], paths=["/"]) for i in range(1000)]
    routes += [route(f"w{i}", 1000 + i, hosts=[f"*.t{i}.example.net"]) for i in range(1000)]
    routes += [route(f"p{i}", 2000 + i, hosts=[f"shop{i}.*"]) for i in range(1000)]
    router = Router(routes, SERVICES, cache_size=0)
    assert evaluated(router, host="svc500.example.com", path="/x") == ("h500", 1)
    assert evaluated(router, host="a.b.t42.example.net") == ("w42", 1)
    assert evaluated(router, host="shop7.co.uk") == ("p7", 1)
    assert evaluated(router, host="unknown.example.org") == (None, 0)


def test_candidates_stop_at_the_first_match_in_priority_order() -> None:
    routes = [route(f"m{i}", i, paths=["/same"], methods=[f"M{i}"]) for i in range(50)]
    router = Router(routes, SERVICES, cache_size=0)
    # all 50 share one bucket, highest id first: "M49" is tested first, "M0" last
    assert evaluated(router, path="/same", method="M49") == ("m49", 1)
    assert evaluated(router, path="/same", method="M0") == ("m0", 50)


def test_regex_routes_are_tested_only_for_their_host() -> None:
    routes = [route(f"r{i}", i, hosts=[f"h{i}.com"], paths=[rf"~/item/{i}$"]) for i in range(200)]
    router = Router(routes, SERVICES, cache_size=0)
    assert evaluated(router, host="h150.com", path="/item/150") == ("r150", 1)
    assert evaluated(router, host="h150.com", path="/item/151") == (None, 1)
