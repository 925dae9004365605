"""kong.service: upstream, target, retries, timeouts."""

from __future__ import annotations

import pytest

from pdk import service
from pdk.errors import PDKArgumentError, PDKError
from pdk.phases import Phase


def test_set_upstream(use):
    ctx = use()
    assert service.set_upstream("billing") is True
    assert (ctx.upstream_name, ctx.upstream_host) == ("billing", "billing")
    with pytest.raises(PDKError, match="could not find an Upstream named 'nope'"):
        service.set_upstream("nope")
    with pytest.raises(PDKArgumentError, match="host must be a string"):
        service.set_upstream(1)


def test_set_upstream_without_snapshot(use):
    use(snapshot=None)
    with pytest.raises(PDKError, match="could not find an Upstream"):
        service.set_upstream("billing")


def test_set_target(use):
    ctx = use(upstream_name="billing")
    service.set_target("10.1.2.3", 8443)
    assert (ctx.upstream_host, ctx.upstream_port, ctx.upstream_name) == ("10.1.2.3", 8443, None)
    assert ctx.upstream_host_header == "10.1.2.3"
    service.set_target("billing", 80.0)
    assert ctx.upstream_name == "billing" and ctx.upstream_port == 80


def test_set_target_in_rewrite_and_balancer(use):
    for phase in (Phase.rewrite, Phase.balancer):
        ctx = use(phase=phase)
        service.set_target("a.example", 1)
        assert ctx.upstream_host == "a.example"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((1, 80), "host must be a string"),
        (("h", "80"), "port must be an integer"),
        (("h", 80.5), "port must be an integer"),
        (("h", True), "port must be an integer"),
        (("h", 70000), "port must be an integer between 0 and 65535: given 70000"),
    ],
)
def test_set_target_validation(use, args, message):
    use()
    with pytest.raises(PDKArgumentError, match=message):
        service.set_target(*args)


def test_set_retries(use):
    ctx = use()
    service.set_retries(0)
    assert ctx.retries == 0
    service.set_retries(32767)
    assert ctx.retries == 32767
    with pytest.raises(PDKArgumentError, match="retries must be an integer between 0 and 32767: given -1"):
        service.set_retries(-1)
    with pytest.raises(PDKArgumentError, match="retries must be an integer"):
        service.set_retries("3")


def test_set_timeouts(use):
    ctx = use()
    service.set_timeouts(100, 200, 300)
    assert (ctx.connect_timeout, ctx.write_timeout, ctx.read_timeout) == (100, 200, 300)
    with pytest.raises(
        PDKArgumentError, match="write_timeout must be an integer between 1 and 2147483646: given 0"
    ):
        service.set_timeouts(100, 0, 300)
    with pytest.raises(PDKArgumentError, match="read_timeout must be an integer"):
        service.set_timeouts(100, 200, None)
    assert ctx.write_timeout == 200  # nothing changes when one value is wrong
