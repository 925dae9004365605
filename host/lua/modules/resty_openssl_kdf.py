"""Python half of ``resty.openssl.kdf``: PBKDF2, HKDF and scrypt with :mod:`hashlib`
and :mod:`cryptography`.

:func:`derive` takes OpenSSL 3's parameter names (``kdf:derive(outlen, params)``); the
Lua side maps the legacy ``kdf.derive(options)`` onto them.  Failures are returned as
``(None, message)`` (``nil, err`` in Lua).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from cryptography.hazmat.primitives.kdf.hkdf import HKDF, HKDFExpand

from host.lua.modules.resty_openssl_digest import hashlib_name
from host.lua.modules.resty_openssl_pkey import crypto_hash

if TYPE_CHECKING:  # pragma: no cover
    from host.lua.runtime import LuaHost

__all__ = ["derive", "backing"]

#: OpenSSL's PBKDF2 iteration count when ``iter`` is not given (PKCS5_DEFAULT_ITER)
PBKDF2_DEFAULT_ITER = 2048
_HKDF_MODES = {b"EXTRACT_AND_EXPAND": 0, b"EXTRACT_ONLY": 1, b"EXPAND_ONLY": 2}


def _bytes(params: Any, name: str) -> bytes:
    value = params[name.encode()]
    if value is None:
        return b""
    if value.__class__ is not bytes:
        raise ValueError(f'except a string as "{name}"')
    return value


def _pbkdf2(outlen: int, params: Any) -> bytes:
    algo = hashlib_name(params[b"digest"] or b"sha1")
    if algo is None or algo == b"null":
        raise ValueError("invalid digest type")
    rounds = max(1, int(params[b"iter"] or PBKDF2_DEFAULT_ITER))
    return hashlib.pbkdf2_hmac(algo.decode(), _bytes(params, "pass"), _bytes(params, "salt"), rounds, outlen)


def _hkdf(outlen: int, params: Any) -> bytes:
    algorithm = crypto_hash(params[b"digest"])
    if algorithm is None:
        raise ValueError("invalid digest type")
    mode = params[b"mode"]
    mode = _HKDF_MODES.get(mode, mode) if mode is not None else 0
    key, salt, info = _bytes(params, "key"), _bytes(params, "salt"), _bytes(params, "info")
    if not key:
        raise ValueError('"key" must be set')
    if mode == 1:  # extract only: the pseudorandom key, as long as the digest
        return hmac.new(salt or b"\0" * algorithm.digest_size, key, algorithm.name).digest()
    if mode == 2:
        return HKDFExpand(algorithm, outlen, info).derive(key)
    return HKDF(algorithm, outlen, salt or None, info).derive(key)


def _scrypt(outlen: int, params: Any) -> bytes:
    n, r, p = (int(params[k] or 0) for k in (b"n", b"r", b"p"))
    maxmem = int(params[b"maxmem_bytes"] or 32 * 1024 * 1024)
    return hashlib.scrypt(_bytes(params, "pass"), salt=_bytes(params, "salt"), n=n, r=r, p=p,
                          maxmem=maxmem, dklen=outlen)


_KDFS: dict[bytes, Callable[[int, Any], bytes]] = {b"PBKDF2": _pbkdf2, b"HKDF": _hkdf, b"SCRYPT": _scrypt}


def derive(kind: bytes, outlen: Any, params: Any) -> Any:
    """``outlen`` bytes derived with KDF ``kind`` (PBKDF2, HKDF, SCRYPT) from ``params``
    (a Lua table with OpenSSL 3's parameter names)."""
    fn = _KDFS.get(kind.upper())
    if fn is None:
        return None, f'kdf.new: invalid kdf type "{kind.decode(errors="replace")}"'.encode()
    try:
        length = int(outlen or 0)
        if length <= 0 and not (kind.upper() == b"HKDF" and params[b"mode"] in (1, b"EXTRACT_ONLY")):
            raise ValueError("outlen must be a positive number")
        return fn(length, params)
    except (ValueError, TypeError, OverflowError) as exc:
        return None, f"kdf:derive: {exc}".encode()


def backing(host: LuaHost) -> dict[str, Callable[..., Any]]:
    return {"derive": derive}
