"""kong.configuration: read-only settings."""

from __future__ import annotations

import pytest

from host.settings import Settings
from pdk import _settings
from pdk.configuration import Configuration
from pdk.errors import PDKError


@pytest.fixture
def settings():
    installed = Settings(trusted_ips=["10.0.0.0/8"], admin_token="s3cret", log_level="debug")
    _settings.set_default_settings(installed)
    yield installed
    _settings.set_default_settings(None)


def test_reads_public_settings(settings):
    conf = Configuration()
    assert conf.log_level == "debug"
    assert conf["trusted_ips"] == ("10.0.0.0/8",)
    assert conf.database == "off"
    assert conf.kong_version == "3.10.0"
    assert conf.role is None  # a missing key reads as nil
    assert "admin_token" not in conf and conf.admin_token is None
    assert "s3cret" not in repr(dict(conf))
    assert conf.remove_sensitive()["log_level"] == "debug"


def test_follows_installed_settings(settings):
    conf = Configuration()
    assert conf.log_level == "debug"
    _settings.set_default_settings(Settings(log_level="warn"))
    assert conf.log_level == "warn"


def test_writes_are_refused(settings):
    conf = Configuration()
    for write in (
        lambda: setattr(conf, "log_level", "x"),
        lambda: conf.__setitem__("log_level", "x"),
        lambda: delattr(conf, "log_level"),
        lambda: conf.__delitem__("log_level"),
    ):
        with pytest.raises(PDKError, match="cannot write to configuration"):
            write()
