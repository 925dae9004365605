"""``pl.file`` and ``ngx.errlog``: a plugin reads a key from a file the operator
configured and logs a security event (tests/lua_plugins/kong/plugins/compat-keyfile);
the sandbox does not offer ``pl.file``."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import jwt as pyjwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.conftest import service
from tests.host.lua.test_ngx_base import lua_gateway  # noqa: F401 - fixture


def config(upstream: Any, key_path: str) -> dict[str, Any]:
    return {
        "_format_version": "3.0",
        "services": [{**service(upstream), "routes": [{"paths": ["/"]}]}],
        "plugins": [{"name": "compat-keyfile", "config": {"key_path": key_path}}],
    }


async def test_key_file_is_read_once_and_used(lua_gateway, echo_upstream, http, tmp_path: Path):  # noqa: F811
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path = tmp_path / "key.pem"
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    gw = await lua_gateway(config(echo_upstream, str(path)))
    async with http.get(gw.url + "/signed/path") as resp:
        assert resp.status == 200
        headers = {k.lower(): v for k, v in (await resp.json())["headers"].items()}
    assert pyjwt.decode(headers["x-signed"], key.public_key(), algorithms=["RS256"]) == {"path": "/signed/path"}
    assert headers["x-write"] == "nil: pl.file.write: plugins cannot change files in Moongate"
    assert path.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")  # write refused
    path.unlink()  # cached by kong.cache: the next request does not read the file again
    async with http.get(gw.url + "/again") as resp:
        assert resp.status == 200


async def test_missing_file_is_an_error_and_a_log_line(lua_gateway, echo_upstream, http, tmp_path, caplog):  # noqa: F811
    caplog.set_level(logging.INFO)
    missing = tmp_path / "nope.pem"
    gw = await lua_gateway(config(echo_upstream, str(missing)))
    async with http.get(gw.url + "/x") as resp:
        assert resp.status == 500
        body = await resp.json()
    # kong.cache:get prefixes the loader's error, as Kong's does
    reason = f"failed to get from node cache: {missing}: No such file or directory"
    assert body["err"] == reason
    assert f"[security-event] key unreadable: {reason}" in caplog.text


def test_sandboxed_plugins_cannot_require_pl_file() -> None:
    from host.lua.sandbox import SandboxedHost

    host = SandboxedHost()
    fn = host.compile_in("boxed", "return pcall(require, 'pl.file')")
    ok, err = fn()
    assert ok is False
    assert err == b"require 'pl.file' not allowed within sandbox"
