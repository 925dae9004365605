"""kong.ip: trusted addresses."""

from __future__ import annotations

import pytest

from host.context import IDLE_CONTEXT
from host.settings import Settings
from pdk import _settings, ip
from pdk.errors import PDKArgumentError
from pdk.phases import Phase


def test_trusted_from_request_settings(use):
    use(trusted_ips=["10.0.0.0/8", "2001:db8::/32"])
    assert ip.is_trusted("10.1.2.3") is True
    assert ip.is_trusted("2001:db8::1") is True
    assert ip.is_trusted("192.168.0.1") is False
    assert ip.is_trusted("not an ip") is False
    with pytest.raises(PDKArgumentError, match="address must be a string"):
        ip.is_trusted(None)


def test_empty_list_and_trust_all(use):
    use(trusted_ips=[])
    assert ip.is_trusted("10.0.0.1") is False
    use(trusted_ips=["0.0.0.0/0", "::/0"])
    assert ip.is_trusted("198.51.100.1") is True


def test_default_settings_outside_requests(use):
    assert IDLE_CONTEXT.settings is None
    _settings.set_default_settings(Settings(trusted_ips=["127.0.0.1"]))
    try:
        use(IDLE_CONTEXT)
        assert IDLE_CONTEXT.phase == Phase.init_worker
        assert ip.is_trusted("127.0.0.1") is True
    finally:
        _settings.set_default_settings(None)
    assert ip.is_trusted("127.0.0.1") is False
