"""Testing plugins without standing up a gateway by hand: Moongate's pytest plugin.

Installed with Moongate (entry point ``pytest11``), it gives every test:

- ``mock_upstream``: a real echo server (:class:`MockUpstream`) recording what it got;
- ``gateway``: ``await gateway.start(plugins=[...], ...)`` starts a real Moongate on an
  ephemeral port with a config built in the test (:class:`GatewayHarness`), or
  ``await gateway.spawn(...)`` as a separate process (:class:`SpawnedGateway`);
- ``fake_kong``: the real PDK over a request built in the test, for unit tests of one
  phase handler (:class:`FakeKong`).

See ``sdk-docs/testing.md``.
"""

from host.testing.fake_kong import FakeKong
from host.testing.harness import GatewayClient, GatewayHarness, MockUpstream, Response, RunningTestGateway
from host.testing.processes import SpawnedGateway

__all__ = [
    "FakeKong",
    "GatewayClient",
    "GatewayHarness",
    "MockUpstream",
    "Response",
    "RunningTestGateway",
    "SpawnedGateway",
]
