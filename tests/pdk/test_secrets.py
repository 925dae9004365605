"""Secrets stay out of plugins' reach: kong.configuration and kong.log.serialize(), from Python and Lua."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest

from host.lua.runtime import LuaHost
from host.settings import Settings
from pdk import _settings
from pdk.configuration import Configuration
from tests.conftest import service
from tests.host.plugins._faults import FAULT_PLUGINS, raw_get, wait_for_record

PY_PLUGIN = """
import json

PRIORITY = 701
VERSION = "1.0.0"


def access(kong, conf):
    config = kong.configuration
    kong.response.set_header("X-Py-Admin-Token", repr(config.admin_token))
    kong.response.set_header("X-Py-Listed", str("admin_token" in config))
    kong.response.set_header("X-Py-Masked", config.remove_sensitive()["admin_token"])


def log(kong, conf):
    kong.log.notice("py serialized: ", json.dumps(kong.log.serialize()))
"""


@dataclass
class VaultedSettings(Settings):
    """Settings with the secrets Kong has and Moongate may add later."""

    pg_password: str | None = None
    redis_password: str | None = None
    proxy_server: str | None = None
    declarative_config_string: str | None = None
    cluster_cert_key: str | None = None
    keyring_private_key: str | None = None
    vault_secret: str | None = None
    pg_user: str = "kong"


SECRETS = {
    "admin_token": "tok-admin",
    "pg_password": "pw-pg",
    "redis_password": "pw-redis",
    "proxy_server": "http://user:pw-proxy@proxy:3128",
    "declarative_config_string": "{secret config}",
    "cluster_cert_key": "-----BEGIN PRIVATE KEY-----",
    "keyring_private_key": "-----BEGIN PRIVATE KEY-----",
    "vault_secret": "pw-vault",
}


@pytest.fixture
def vaulted():
    settings = VaultedSettings(**SECRETS)
    _settings.set_default_settings(settings)
    yield settings
    _settings.set_default_settings(None)


def test_python_sees_no_sensitive_setting(vaulted):
    conf = Configuration()
    for name in SECRETS:
        assert getattr(conf, name) is None, name
        assert name not in conf
    assert conf.pg_user == "kong" and conf.log_level == "notice"
    shown = repr(dict(conf))
    assert not any(value in shown for value in SECRETS.values())
    # remove_sensitive(): Kong's placeholder for each secret that is set
    masked = conf.remove_sensitive()
    assert {name: masked[name] for name in SECRETS} == dict.fromkeys(SECRETS, "******")
    assert masked["pg_user"] == "kong"
    assert "ssl_cert_key" not in masked  # unset (empty): nothing to mask


def test_lua_sees_no_sensitive_setting(vaulted):
    host = LuaHost(vaulted)
    fields = ", ".join(f"{name} = tostring(kong.configuration.{name})" for name in SECRETS)
    read = host.compile_in("t", f"return {{ {fields} }}, kong.configuration.pg_user")
    seen, user = read()
    assert host.to_python(seen) == dict.fromkeys(SECRETS, "nil")
    assert user == b"kong"


async def test_plugins_see_neither_secrets_nor_credentials(make_gateway, echo_upstream, tmp_path, caplog):
    caplog.set_level(25, logger="moongate.plugin")  # notice
    (tmp_path / "py_secrets.py").write_text(PY_PLUGIN)
    route = {"name": "r", "paths": ["/r"], "plugins": [{"name": "lua-secrets"}, {"name": "py-secrets"}]}
    config = {"_format_version": "3.0", "services": [{**service(echo_upstream), "routes": [route]}]}
    gw = await make_gateway(config, plugins_dirs=[FAULT_PLUGINS, tmp_path], admin_token="tok-admin")
    credentials = {"Authorization": "Bearer cred-bearer", "Proxy-Authorization": "Basic cred-proxy"}
    resp = await raw_get(gw.gateway.proxy_port, "/r", credentials)
    assert resp.status == 200
    assert resp.json()["headers"]["Authorization"] == "Bearer cred-bearer"  # the upstream still gets it
    assert (resp.headers["x-admin-token"], resp.headers["x-pg-password"], resp.headers["x-ssl-cert-key"]) == (
        "nil",
        "nil",
        "nil",
    )
    assert resp.headers["x-log-level"] == "notice"
    assert (resp.headers["x-py-admin-token"], resp.headers["x-py-listed"]) == ("None", "False")
    assert resp.headers["x-py-masked"] == "******"

    for prefix in ("[lua-secrets] serialized: ", "[py-secrets] py serialized: "):
        record = await wait_for_record(caplog, lambda r, p=prefix: r.getMessage().startswith(p))
        entry = json.loads(record.getMessage()[len(prefix) :])
        headers = entry["request"]["headers"]
        assert (headers["authorization"], headers["proxy-authorization"]) == ("REDACTED", "REDACTED")
        assert headers["host"] == "test"
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "cred-bearer" not in logged and "cred-proxy" not in logged and "tok-admin" not in logged
