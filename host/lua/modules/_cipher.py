"""Symmetric ciphers for ``resty.aes`` and ``resty.openssl.cipher``: AES in ECB, CBC, CFB,
CFB8, OFB, CTR and GCM, PKCS#7 padding as OpenSSL's EVP layer applies it, and
``EVP_BytesToKey`` (OpenSSL's password-to-key derivation).  Built on ``cryptography``."""

from __future__ import annotations

import hashlib
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

try:  # CFB, CFB8 and OFB live in cryptography's "decrepit" package since 47
    from cryptography.hazmat.decrepit.ciphers import modes as old_modes
except ImportError:  # pragma: no cover - an older cryptography
    old_modes = modes

__all__ = ["spec", "crypt", "bytes_to_key", "CipherError"]

#: mode name -> (cryptography mode class, iv length, block mode: padded)
_MODES: dict[str, tuple[Any, int, bool]] = {
    "ecb": (None, 0, True),
    "cbc": (modes.CBC, 16, True),
    "cfb": (old_modes.CFB, 16, False),
    "cfb128": (old_modes.CFB, 16, False),
    "cfb8": (old_modes.CFB8, 16, False),
    "ofb": (old_modes.OFB, 16, False),
    "ctr": (modes.CTR, 16, False),
    "gcm": (modes.GCM, 12, False),
}
_DIGESTS = ("md5", "sha1", "sha224", "sha256", "sha384", "sha512")


class CipherError(Exception):
    """A cipher name, key, iv or message OpenSSL would refuse (the message is Lua's err)."""


def spec(name: str) -> tuple[int, str, int, bool]:
    """``"aes-256-cbc"`` -> (key bytes, mode, iv bytes, padded)."""
    parts = name.lower().split("-")
    if (
        len(parts) != 3
        or parts[0] != "aes"
        or parts[1] not in ("128", "192", "256")
        or parts[2] not in _MODES
    ):
        raise CipherError(f'invalid cipher type "{name}"')
    _, iv_len, padded = _MODES[parts[2]]
    return int(parts[1]) // 8, parts[2], iv_len, padded


def crypt(
    name: str,
    encrypting: bool,
    key: bytes,
    iv: bytes | None,
    data: bytes,
    pad: bool = True,
    aad: bytes | None = None,
    tag: bytes | None = None,
) -> tuple[bytes, bytes | None]:
    """Encrypt or decrypt ``data`` in one go; returns (output, GCM tag when encrypting)."""
    key_len, mode_name, iv_len, padded = spec(name)
    if len(key) != key_len:
        raise CipherError(f"incorrect key length, expect {key_len}")
    mode_class = _MODES[mode_name][0]
    if mode_class is None:
        mode = modes.ECB()
    else:
        iv = iv or b""
        if mode_name != "gcm" and len(iv) != iv_len:
            raise CipherError(f"incorrect iv length, expect {iv_len}")
        if mode_name == "gcm":
            if not encrypting and tag is None:
                raise CipherError("no tag given for gcm decryption")
            mode = modes.GCM(iv, tag, min_tag_length=4) if not encrypting else modes.GCM(iv)
        else:
            mode = mode_class(iv)
    cipher = Cipher(algorithms.AES(key), mode)
    if encrypting:
        worker = cipher.encryptor()
        if aad and mode_name == "gcm":
            worker.authenticate_additional_data(aad)
        if padded and pad:
            padder = padding.PKCS7(128).padder()
            data = padder.update(data) + padder.finalize()
        elif padded and len(data) % 16:
            raise CipherError("data not multiple of block length")
        out = worker.update(data) + worker.finalize()
        return out, (worker.tag if mode_name == "gcm" else None)
    worker = cipher.decryptor()
    if aad and mode_name == "gcm":
        worker.authenticate_additional_data(aad)
    try:
        out = worker.update(data) + worker.finalize()
    except InvalidTag:
        raise CipherError("authentication tag mismatch") from None
    except ValueError as exc:
        raise CipherError(str(exc)) from None
    if padded and pad:
        unpadder = padding.PKCS7(128).unpadder()
        try:
            out = unpadder.update(out) + unpadder.finalize()
        except ValueError:
            raise CipherError("bad decrypt") from None
    return out, None


def bytes_to_key(
    name: str, digest: str, salt: bytes | None, password: bytes, count: int
) -> tuple[bytes, bytes]:
    """OpenSSL's ``EVP_BytesToKey``: (key, iv) for cipher ``name`` from ``password``."""
    if digest not in _DIGESTS:
        raise CipherError(f'invalid digest type "{digest}"')
    if salt is not None and len(salt) != 8:
        raise CipherError("salt must be 8 characters or nil")
    key_len, _, iv_len, _ = spec(name)
    derived = b""
    block = b""
    while len(derived) < key_len + iv_len:
        block = hashlib.new(digest, block + password + (salt or b"")).digest()
        for _ in range(max(count, 1) - 1):
            block = hashlib.new(digest, block).digest()
        derived += block
    return derived[:key_len], derived[key_len : key_len + iv_len]
