"""kong.client: caller address, identity and protocol."""

from __future__ import annotations

import pytest

from pdk import client
from pdk.errors import PDKArgumentError, PDKError
from pdk.phases import Phase

from .conftest import CONSUMER


def test_addresses_and_ports(use):
    use(peer_ip="10.0.0.1", client_ip="203.0.113.7", peer_port=51000)
    assert client.get_ip() == "10.0.0.1"
    assert client.get_forwarded_ip() == "203.0.113.7"
    assert client.get_port() == 51000
    assert client.get_forwarded_port() == 51000


def test_addresses_in_certificate_phase(use):
    use(phase=Phase.certificate, peer_ip="10.9.9.9")
    assert client.get_ip() == "10.9.9.9"


def test_authenticate_and_getters(use):
    ctx = use()
    assert client.get_consumer() is None and client.get_credential() is None
    credential = {"id": "c1", "consumer": {"id": CONSUMER["id"]}}
    client.authenticate(CONSUMER, credential)
    assert client.get_consumer() is CONSUMER
    assert client.get_credential() is credential
    client.authenticate(None, credential)
    assert ctx.consumer is None and ctx.credential is credential


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((None, None), "either credential or consumer must be provided"),
        (("alice", None), "consumer must be a table or nil"),
        ((None, "key"), "credential must be a table or nil"),
    ],
)
def test_authenticate_validation(use, args, message):
    use()
    with pytest.raises(PDKArgumentError, match=message):
        client.authenticate(*args)


def test_load_consumer(use):
    use()
    loaded = client.load_consumer(CONSUMER["id"])
    assert loaded == CONSUMER and loaded is not CONSUMER  # a copy: the snapshot stays intact
    assert client.load_consumer("alice", True) == CONSUMER
    assert client.load_consumer(CONSUMER["id"], True) == CONSUMER
    assert client.load_consumer("bob", True) is None
    assert client.load_consumer("00000000-0000-0000-0000-000000000000") is None
    with pytest.raises(PDKArgumentError, match="cannot load a consumer with an id that is not a uuid"):
        client.load_consumer("alice")
    with pytest.raises(PDKArgumentError, match="consumer_id must be a string"):
        client.load_consumer(42)


def test_load_consumer_without_configuration(use):
    use(snapshot=None)
    with pytest.raises(PDKError, match="no configuration loaded"):
        client.load_consumer(CONSUMER["id"])


def test_get_protocol(use):
    use(route=None)
    with pytest.raises(PDKError, match="No active route found"):
        client.get_protocol()
    use(route={"protocols": ["grpcs"]})
    assert client.get_protocol() == "grpcs"
    use(route={"protocols": ["http", "https"]}, scheme="https")
    assert client.get_protocol() == "https"
    headers = {"X-Forwarded-Proto": "https"}
    use(route={"protocols": ["http", "https"]}, headers=headers)
    assert client.get_protocol(True) == "http"  # untrusted peer
    use(route={"protocols": ["http", "https"]}, headers=headers, trusted_ips=["10.0.0.1"])
    assert client.get_protocol() == "http"  # terminated TLS not allowed
    assert client.get_protocol(True) == "https"
    use(
        route={"protocols": ["http", "https"]},
        headers={"X-Forwarded-Proto": "https, http"},
        trusted_ips=["10.0.0.1"],
    )
    with pytest.raises(PDKError, match="Only one X-Forwarded-Proto header allowed"):
        client.get_protocol(True)
