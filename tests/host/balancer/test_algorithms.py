"""The algorithms on their own: distribution, retries, health, hashing and remapping."""

from __future__ import annotations

from collections import Counter
from typing import Any

from multidict import CIMultiDict

from host.balancer import Balancer
from host.balancer.algorithms import smooth_wheel
from host.balancer.hashing import hash_value
from host.balancer.health import build_balancers
from host.config import load_data
from host.context import Context
from host.plugins.spec import PluginRegistry


def make(upstream: dict[str, Any], owner: Any = None) -> Balancer:
    registry = PluginRegistry()
    config = load_data({"_format_version": "3.0", "upstreams": [upstream]}, registry, source="t.yml")
    return build_balancers(config.upstreams, config.targets, registry if owner is None else owner)[
        upstream["name"]
    ]


def targets(*weights: int) -> list[dict[str, Any]]:
    return [{"target": f"10.0.0.{i + 1}:80", "weight": w} for i, w in enumerate(weights)]


def ctx(headers: dict[str, str] | None = None, query: str = "", path: str = "/") -> Context:
    c = Context()
    c.headers = CIMultiDict(headers or {})
    c.raw_query = query
    c.path = path
    c.client_ip = "192.0.2.7"
    return c


def picks(balancer: Balancer, n: int, make_ctx: Any = ctx) -> Counter[str]:
    return Counter(balancer.pick(make_ctx(), set()).host for _ in range(n))  # type: ignore[union-attr]


class TestRoundRobin:
    def test_weights_are_followed_and_spread_smoothly(self) -> None:
        b = make({"name": "u", "targets": targets(50, 25, 25)})
        counts = picks(b, 400)
        assert counts == {"10.0.0.1": 200, "10.0.0.2": 100, "10.0.0.3": 100}
        # smooth (nginx's order): the heavy target's turns are spread out
        assert smooth_wheel([2, 1, 1]) == [0, 1, 2, 0]
        assert smooth_wheel([5, 1, 1]) == [0, 0, 1, 0, 2, 0, 0]

    def test_weight_zero_is_never_picked(self) -> None:
        b = make({"name": "u", "targets": targets(100, 0)})
        assert set(picks(b, 50)) == {"10.0.0.1"}

    def test_retry_moves_to_an_untried_target_while_one_remains(self) -> None:
        b = make({"name": "u", "targets": targets(100, 100, 100)})
        tried: set[tuple[str, int]] = set()
        seen = []
        for _ in range(3):
            a = b.pick(ctx(), tried)
            assert a is not None
            seen.append(a.hp)
            tried.add(a.hp)
        assert len(set(seen)) == 3
        assert b.pick(ctx(), tried) is not None  # all tried: one of them again

    def test_unhealthy_targets_leave_and_return(self) -> None:
        b = make({"name": "u", "targets": targets(100, 100)})
        b.addresses[0].state.set_healthy(False)
        assert set(picks(b, 20)) == {"10.0.0.2"}
        b.addresses[1].state.set_healthy(False)
        assert b.pick(ctx(), set()) is None
        b.addresses[0].state.set_healthy(True)
        assert set(picks(b, 20)) == {"10.0.0.1"}

    def test_threshold_makes_the_whole_balancer_unhealthy(self) -> None:
        b = make({"name": "u", "targets": targets(100, 100, 100), "healthchecks": {"threshold": 50}})
        b.addresses[0].state.set_healthy(False)
        assert b.pick(ctx(), set()) is not None  # 66 % > 50 %
        b.addresses[1].state.set_healthy(False)
        assert b.pick(ctx(), set()) is None  # 33 % is not above 50 %


class TestLeastConnections:
    def test_fewest_in_flight_per_weight_wins(self) -> None:
        b = make({"name": "u", "algorithm": "least-connections", "targets": targets(100, 100, 200)})
        a1, a2, a3 = b.addresses
        a1.state.inflight, a2.state.inflight, a3.state.inflight = 3, 1, 3
        assert b.pick(ctx(), set()) is a2  # (1+1)/100 < (3+1)/200 < (3+1)/100
        a2.state.inflight = 5
        assert b.pick(ctx(), set()) is a3

    def test_equal_scores_take_turns_and_counts_follow_tries(self) -> None:
        b = make({"name": "u", "algorithm": "least-connections", "targets": targets(100, 100, 100)})
        assert len(picks(b, 30)) == 3
        a = b.pick(ctx(), set())
        b.started(a)  # type: ignore[arg-type]
        assert a.state.inflight == 1  # type: ignore[union-attr]
        assert b.pick(ctx(), set()) is not a
        b.answered(a, 200, 0.01)  # type: ignore[arg-type]
        assert a.state.inflight == 1  # type: ignore[union-attr]  # the body is still on its way
        b.finished(a)  # type: ignore[arg-type]
        assert a.state.inflight == 0  # type: ignore[union-attr]


class TestLatency:
    def test_the_faster_target_gets_most_requests(self) -> None:
        b = make({"name": "u", "algorithm": "latency", "targets": targets(100, 100)})
        fast, slow = b.addresses
        b.answered(fast, 200, 0.005)
        b.answered(slow, 200, 0.200)
        counts = picks(b, 200)
        assert counts["10.0.0.1"] == 200  # two candidates, the lower EWMA always wins

    def test_a_new_target_starts_at_the_average(self) -> None:
        registry = PluginRegistry()
        upstream = {"name": "u", "algorithm": "latency", "targets": targets(100, 100)}
        b = make(upstream, registry)
        b.answered(b.addresses[0], 200, 0.010)
        b.answered(b.addresses[1], 200, 0.030)
        b2 = make({**upstream, "targets": targets(100, 100, 100)}, registry)
        assert abs(b2.addresses[2].state.ewma - 0.020) < 1e-9


class TestConsistentHashing:
    def upstream(self, n: int, **fields: Any) -> dict[str, Any]:
        return {
            "name": "u",
            "hash_on": "header",
            "hash_on_header": "X-Key",
            "targets": targets(*[100] * n),
            **fields,
        }

    def test_same_key_same_target_and_keys_spread(self) -> None:
        b = make(self.upstream(3))
        owners = {k: b.pick(ctx({"X-Key": f"user-{k}"}), set()).host for k in range(3000)}  # type: ignore[union-attr]
        again = {k: b.pick(ctx({"X-Key": f"user-{k}"}), set()).host for k in range(3000)}  # type: ignore[union-attr]
        assert owners == again
        share = Counter(owners.values())
        assert all(700 < c < 1300 for c in share.values()), share

    def test_adding_a_fourth_target_remaps_about_a_quarter(self) -> None:
        keys = [f"session-{k}" for k in range(5000)]
        three = make(self.upstream(3))
        four = make(self.upstream(4))
        before = {k: three.pick(ctx({"X-Key": k}), set()).hp for k in keys}  # type: ignore[union-attr]
        after = {k: four.pick(ctx({"X-Key": k}), set()).hp for k in keys}  # type: ignore[union-attr]
        moved = [k for k in keys if before[k] != after[k]]
        print(f"\nconsistent-hashing: 3 -> 4 targets moved {len(moved) / len(keys):.1%} of keys")
        assert 0.15 < len(moved) / len(keys) < 0.35
        assert all(after[k] == ("10.0.0.4", 80) for k in moved)  # only to the new target

    def test_an_unhealthy_target_moves_only_its_keys_and_retries_walk_on(self) -> None:
        b = make(self.upstream(3))
        keys = [f"k{k}" for k in range(600)]
        before = {k: b.pick(ctx({"X-Key": k}), set()) for k in keys}
        down = b.addresses[0]
        down.state.set_healthy(False)
        for k in keys:
            now = b.pick(ctx({"X-Key": k}), set())
            assert now is not down
            if before[k] is not down:
                assert now is before[k]
        c = ctx({"X-Key": "k1"})
        first = b.pick(c, set())
        second = b.pick(c, {first.hp})  # type: ignore[union-attr]
        assert second is not None and second is not first

    def test_hash_values_and_fallbacks(self) -> None:
        u = {
            "hash_on": "query_arg",
            "hash_on_query_arg": "id",
            "hash_fallback": "header",
            "hash_fallback_header": "X-A",
        }
        assert hash_value(u, ctx(query="id=b&x=1&id=a")) == "a,b"
        assert hash_value(u, ctx(query="id")) == "true"
        assert hash_value(u, ctx({"X-A": "h"}, query="other=1")) == "h"
        assert hash_value(u, ctx(query="")) == ""
        assert hash_value({"hash_on": "ip"}, ctx()) == "192.0.2.7"
        assert hash_value({"hash_on": "path"}, ctx(path="/a/b")) == "/a/b"
        c = ctx()
        c.credential = {"id": "cred-1"}
        assert hash_value({"hash_on": "consumer"}, c) == "cred-1"
        c.consumer = {"id": "cons-1"}
        assert hash_value({"hash_on": "consumer"}, c) == "cons-1"
        c.uri_captures = {"unnamed": ["/u/42", "42"], "named": {"uid": "42"}}
        assert hash_value({"hash_on": "uri_capture", "hash_on_uri_capture": "uid"}, c) == "42"
        assert hash_value({"hash_on": "uri_capture", "hash_on_uri_capture": "1"}, c) == "42"

    def test_a_missing_cookie_is_generated_and_set_on_the_response(self) -> None:
        u = {"hash_on": "cookie", "hash_on_cookie": "lb", "hash_on_cookie_path": "/app"}
        assert hash_value(u, ctx({"Cookie": "a=1; lb=xyz"})) == "xyz"
        c = ctx()
        value = hash_value(u, c)
        assert len(value) == 36
        assert c.response_headers["Set-Cookie"] == f"lb={value}; Path=/app; Same-Site=Lax; HttpOnly"
