"""Python half of ``resty.openssl.cipher`` and ``resty.aes`` (both share it: the Lua
modules load this backing by name): one-shot encryption and decryption, the cipher's
sizes, and EVP_BytesToKey (host/lua/modules/_cipher.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from host.lua.modules._cipher import CipherError, bytes_to_key, crypt, spec

if TYPE_CHECKING:  # pragma: no cover
    from host.lua.runtime import LuaHost


def _text(v: Any) -> str:
    return v.decode("latin-1") if isinstance(v, bytes) else str(v)


def backing(host: LuaHost) -> dict[str, Callable[..., Any]]:
    """``sizes(name)`` -> key, iv, block lengths | nil, err; ``run(name, encrypting, key,
    iv, data, pad, aad, tag)`` -> output, tag | nil, err; ``derive(name, digest, salt,
    password, count)`` -> key, iv | nil, err."""

    def sizes(name: Any) -> Any:
        try:
            key_len, _, iv_len, padded = spec(_text(name))
        except CipherError as exc:
            return None, str(exc).encode()
        return key_len, iv_len, 16 if padded else 1

    def run(name: Any, encrypting: Any, key: Any, iv: Any, data: Any, pad: Any, aad: Any, tag: Any) -> Any:
        if not isinstance(key, bytes) or not isinstance(data, bytes):
            return None, b"key and data must be strings"
        try:
            out, made_tag = crypt(
                _text(name),
                bool(encrypting),
                key,
                iv if isinstance(iv, bytes) else None,
                data,
                pad is not False,
                aad if isinstance(aad, bytes) else None,
                tag if isinstance(tag, bytes) else None,
            )
        except CipherError as exc:
            return None, str(exc).encode()
        return out, made_tag

    def derive(name: Any, digest: Any, salt: Any, password: Any, count: Any) -> Any:
        try:
            key, iv = bytes_to_key(
                _text(name),
                _text(digest),
                salt if isinstance(salt, bytes) else None,
                password if isinstance(password, bytes) else b"",
                int(count or 1),
            )
        except CipherError as exc:
            return None, str(exc).encode()
        return key, iv

    return {"sizes": sizes, "run": run, "derive": derive}
