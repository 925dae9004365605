"""Python half of ``resty.openssl.pkey``: keys, signatures and RSA encryption with
:mod:`cryptography`.

A key never reaches Lua as a Python object: the Lua object holds the key's canonical
PEM text (PKCS#8 for a private key, SubjectPublicKeyInfo for a public one) and each
operation passes it back; the parsed key is cached here by that text (:func:`_key`).
Failures are returned as ``(None, message)`` (``nil, err`` in Lua), with the message
prefixes lua-resty-openssl uses (``pkey.new:load_key: ...``, ``pkey:sign: ...``).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, padding, rsa, x448, x25519
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

from host.lua.modules.resty_openssl_digest import hashlib_name

if TYPE_CHECKING:  # pragma: no cover
    from host.lua.runtime import LuaHost

__all__ = ["crypto_hash", "load", "generate", "sign", "verify", "export", "crypt", "backing"]

#: lua-resty-openssl's pkey.PADDINGS
PKCS1, NO_PADDING, OAEP, PSS = 1, 3, 4, 6
_CACHE_SIZE = 512

_HASHES = {
    b"md5": hashes.MD5, b"sha1": hashes.SHA1, b"sha224": hashes.SHA224, b"sha256": hashes.SHA256,
    b"sha384": hashes.SHA384, b"sha512": hashes.SHA512, b"sha512_224": hashes.SHA512_224,
    b"sha512_256": hashes.SHA512_256, b"sha3_224": hashes.SHA3_224, b"sha3_256": hashes.SHA3_256,
    b"sha3_384": hashes.SHA3_384, b"sha3_512": hashes.SHA3_512,
}
_CURVES = {
    "prime256v1": ec.SECP256R1, "secp256r1": ec.SECP256R1, "p-256": ec.SECP256R1,
    "secp384r1": ec.SECP384R1, "p-384": ec.SECP384R1, "secp521r1": ec.SECP521R1, "p-521": ec.SECP521R1,
    "secp256k1": ec.SECP256K1, "prime192v1": ec.SECP192R1, "secp224r1": ec.SECP224R1,
}
_GENERATORS: dict[str, Callable[[], Any]] = {
    "ED25519": ed25519.Ed25519PrivateKey.generate, "ED448": ed448.Ed448PrivateKey.generate,
    "X25519": x25519.X25519PrivateKey.generate, "X448": x448.X448PrivateKey.generate,
}
_PRIVATE = (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey, ed25519.Ed25519PrivateKey,
            ed448.Ed448PrivateKey, x25519.X25519PrivateKey, x448.X448PrivateKey)


def _type_name(key: Any) -> str | None:
    """The key's type as lua-resty-openssl names it, or ``None`` when unsupported."""
    for name, kinds in (
        ("RSA", (rsa.RSAPrivateKey, rsa.RSAPublicKey)),
        ("EC", (ec.EllipticCurvePrivateKey, ec.EllipticCurvePublicKey)),
        ("Ed25519", (ed25519.Ed25519PrivateKey, ed25519.Ed25519PublicKey)),
        ("Ed448", (ed448.Ed448PrivateKey, ed448.Ed448PublicKey)),
        ("X25519", (x25519.X25519PrivateKey, x25519.X25519PublicKey)),
        ("X448", (x448.X448PrivateKey, x448.X448PublicKey)),
    ):
        if isinstance(key, kinds):
            return name
    return None


def _size(key: Any, name: str) -> int:
    """OpenSSL's EVP_PKEY_get_size: the largest signature or ciphertext, in bytes."""
    if name == "RSA":
        return (key.key_size + 7) // 8
    if name == "EC":
        # a DER ECDSA signature with both integers as long as the group order allows
        integer = key.curve.key_size // 8 + 1
        body = 2 * (integer + 2)
        return body + (2 if body < 128 else 3)
    return {"Ed25519": 64, "Ed448": 114, "X25519": 32, "X448": 56}[name]


def _describe(key: Any) -> Any:
    """``(canonical pem, type, is_private, size)`` for the Lua object, or ``(None, err)``."""
    name = _type_name(key)
    if name is None:
        return None, b"pkey.new: unsupported key type"
    private = isinstance(key, _PRIVATE)
    if private:
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    else:
        pem = key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return pem, name.encode(), private, _size(key, name)


@functools.lru_cache(maxsize=_CACHE_SIZE)
def _key(pem: bytes) -> Any:
    """The parsed key of a canonical PEM text (as :func:`_describe` made it)."""
    if b"PRIVATE KEY" in pem[:40]:
        return serialization.load_pem_private_key(pem, password=None)
    return serialization.load_pem_public_key(pem)


def _parse(text: bytes, fmt: str, want: str, passphrase: bytes | None) -> Any:
    if fmt == "*":
        stripped = text.lstrip()
        fmt = "PEM" if stripped.startswith(b"-----") else "JWK" if stripped.startswith(b"{") else "DER"
    if fmt == "JWK":
        import jwt

        key = jwt.PyJWK(json.loads(text)).key
        if want == "pu" and isinstance(key, _PRIVATE):
            key = key.public_key()
        return key
    loaders = {
        "PEM": (serialization.load_pem_private_key, serialization.load_pem_public_key),
        "DER": (serialization.load_der_private_key, serialization.load_der_public_key),
    }[fmt]
    if want in ("*", "pr"):
        try:
            return loaders[0](text, password=passphrase)
        except (ValueError, TypeError, UnsupportedAlgorithm):
            pass
    if want in ("*", "pu"):
        try:
            return loaders[1](text)
        except (ValueError, TypeError, UnsupportedAlgorithm):
            pass
    if want == "pu":  # the public half of a private key
        try:
            return loaders[0](text, password=passphrase).public_key()
        except (ValueError, TypeError, UnsupportedAlgorithm):
            pass
    kind = {"pr": "private key", "pu": "public key"}.get(want, "key")
    raise ValueError(f"could not read a {kind} from the {fmt} text")


def load(text: bytes, fmt: bytes | None, want: bytes | None, passphrase: bytes | None) -> Any:
    """``pkey.new(text, opts)``: a PEM, DER or JWK key (``fmt``: PEM, DER, JWK or ``*``;
    ``want``: ``pr``, ``pu`` or ``*``)."""
    fmt_s = (fmt or b"*").decode("ascii", "replace")
    want_s = (want or b"*").decode("ascii", "replace")
    if fmt_s not in ("PEM", "DER", "JWK", "*"):
        return None, b"pkey.new:load_key: expecting 'DER', 'PEM', 'JWK' or '*' as \"format\""
    if want_s not in ("pr", "pu", "*"):
        return None, b"pkey.new:load_key: expecting 'pr', 'pu' or '*' as \"type\""
    try:
        key = _parse(text, fmt_s, want_s, passphrase)
    except Exception as exc:  # noqa: BLE001 - any parse failure is "cannot load"
        return None, f"pkey.new:load_key: {exc}".encode("utf-8", "replace")
    return _describe(key)


def generate(kind: bytes | None, bits: int | None, exponent: int | None, curve: bytes | None) -> Any:
    """``pkey.new(config)``: a new key (RSA by default: 2048 bits, exponent 65537)."""
    name = (kind or b"RSA").decode("ascii", "replace")
    upper = name.upper()
    try:
        if upper == "RSA":
            bits = int(bits or 2048)
            if bits < 512 or bits > 16384:
                return None, b"pkey.new:new_key: bits out of range"
            key: Any = rsa.generate_private_key(public_exponent=int(exponent or 65537), key_size=bits)
        elif upper == "EC":
            curve_cls = _CURVES.get((curve or b"prime192v1").decode("ascii", "replace").lower())
            if curve_cls is None:
                return None, f"pkey.new:new_key: unknown curve {curve.decode(errors='replace')}".encode()
            key = ec.generate_private_key(curve_cls())
        elif upper in _GENERATORS:
            key = _GENERATORS[upper]()
        else:
            return None, f"pkey.new:new_key: unsupported type {name}".encode()
    except (ValueError, UnsupportedAlgorithm) as exc:
        return None, f"pkey.new:new_key: {exc}".encode()
    return _describe(key)


def crypto_hash(md: bytes | None) -> Any:
    """A ``cryptography`` hash for an OpenSSL digest name (or a hashlib one, as digest
    objects carry); sha256 when ``md`` is ``None``; ``None`` when unknown."""
    md = md or b"sha256"
    cls = _HASHES.get(md) or _HASHES.get(hashlib_name(md) or b"")
    return cls() if cls else None


def _rsa_padding(pad: int | None, md: Any, saltlen: int | None, signing: bool, mgf1: bytes | None) -> Any:
    if pad in (None, PKCS1):
        return padding.PKCS1v15()
    if pad == PSS:
        mgf_hash = crypto_hash(mgf1) if mgf1 else md
        if saltlen is not None:
            salt = int(saltlen)
        else:
            salt = padding.PSS.DIGEST_LENGTH if signing else padding.PSS.AUTO
        return padding.PSS(mgf=padding.MGF1(mgf_hash), salt_length=salt)
    raise ValueError(f"invalid padding: {pad}")


def sign(pem: bytes, data: bytes, md: bytes | None, pad: int | None, saltlen: int | None,
         raw: bool, mgf1: bytes | None) -> Any:
    """A signature of ``data`` (hashed with ``md``, sha256 by default; EdDSA ignores it)."""
    key = _key(pem)
    try:
        if isinstance(key, (ed25519.Ed25519PrivateKey, ed448.Ed448PrivateKey)):
            return key.sign(data)
        algo = crypto_hash(md)
        if algo is None:
            return None, f'pkey:sign_verify_prepare: invalid digest type "{(md or b"").decode()}"'.encode()
        if isinstance(key, rsa.RSAPrivateKey):
            return key.sign(data, _rsa_padding(pad, algo, saltlen, True, mgf1), algo)
        if isinstance(key, ec.EllipticCurvePrivateKey):
            der = key.sign(data, ec.ECDSA(algo))
            if not raw:
                return der
            r, s = decode_dss_signature(der)
            size = (key.curve.key_size + 7) // 8
            return r.to_bytes(size, "big") + s.to_bytes(size, "big")
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        return None, f"pkey:sign: {exc}".encode()
    return None, b"pkey:sign: operation is not supported by the public key algorithm"


def verify(pem: bytes, signature: bytes, data: bytes, md: bytes | None, pad: int | None,
           saltlen: int | None, raw: bool, mgf1: bytes | None) -> Any:
    """``True``, or ``(False, err)`` when the signature does not match."""
    key = _key(pem)
    if isinstance(key, _PRIVATE):
        key = key.public_key()
    try:
        if isinstance(key, (ed25519.Ed25519PublicKey, ed448.Ed448PublicKey)):
            key.verify(signature, data)
            return True
        algo = crypto_hash(md)
        if algo is None:
            return None, f'pkey:sign_verify_prepare: invalid digest type "{(md or b"").decode()}"'.encode()
        if isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, data, _rsa_padding(pad, algo, saltlen, False, mgf1), algo)
            return True
        if isinstance(key, ec.EllipticCurvePublicKey):
            if raw:
                size = (key.curve.key_size + 7) // 8
                if len(signature) != 2 * size:
                    return None, b"pkey:verify: ecdsa.sig_raw2der: invalid signature length"
                signature = encode_dss_signature(int.from_bytes(signature[:size], "big"),
                                                 int.from_bytes(signature[size:], "big"))
            key.verify(signature, data, ec.ECDSA(algo))
            return True
    except InvalidSignature:
        return False, b"pkey:verify: bad signature"
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        return False, f"pkey:verify: {exc}".encode()
    return None, b"pkey:verify: operation is not supported by the public key algorithm"


def _jwk(key: Any) -> bytes:
    """The key as JWK text (PyJWT's encoders, without PyJWT's ``key_ops``): ``kty`` and
    the RSA (``n``, ``e``, ``d``, ``p``, ``q``, ``dp``, ``dq``, ``qi``), EC (``crv``, ``x``,
    ``y``, ``d``) or OKP (``crv``, ``x``, ``d``) members, base64url without padding."""
    from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm

    if isinstance(key, (rsa.RSAPrivateKey, rsa.RSAPublicKey)):
        jwk = RSAAlgorithm.to_jwk(key, as_dict=True)
    elif isinstance(key, (ec.EllipticCurvePrivateKey, ec.EllipticCurvePublicKey)):
        jwk = ECAlgorithm.to_jwk(key, as_dict=True)
    else:
        jwk = OKPAlgorithm.to_jwk(key, as_dict=True)
    jwk.pop("key_ops", None)
    return json.dumps(jwk, separators=(",", ":")).encode()


def export(pem: bytes, private: bool, fmt: bytes) -> Any:
    """``pk:tostring(...)``: the private or public key as PEM, DER or JWK."""
    key = _key(pem)
    if private:
        if not isinstance(key, _PRIVATE):
            return None, b"pkey:tostring: not a private key"
        if fmt == b"JWK":
            return _jwk(key)
        if fmt == b"DER":
            traditional = isinstance(key, (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey))
            form = serialization.PrivateFormat.TraditionalOpenSSL if traditional else serialization.PrivateFormat.PKCS8
            return key.private_bytes(serialization.Encoding.DER, form, serialization.NoEncryption())
        return pem
    public = key.public_key() if isinstance(key, _PRIVATE) else key
    if fmt == b"JWK":
        return _jwk(public)
    encoding = serialization.Encoding.DER if fmt == b"DER" else serialization.Encoding.PEM
    return public.public_bytes(encoding, serialization.PublicFormat.SubjectPublicKeyInfo)


def crypt(pem: bytes, data: bytes, decrypting: bool, pad: int | None, oaep_md: bytes | None) -> Any:
    """RSA ``encrypt`` (public part) or ``decrypt`` (private key)."""
    key = _key(pem)
    if not isinstance(key, (rsa.RSAPrivateKey, rsa.RSAPublicKey)):
        return None, b"pkey:asymmetric_routine: operation is not supported by the public key algorithm"
    if pad in (None, PKCS1):
        scheme: Any = padding.PKCS1v15()
    elif pad == OAEP:
        algo = crypto_hash(oaep_md or b"sha1")
        scheme = padding.OAEP(mgf=padding.MGF1(algo), algorithm=algo, label=None)
    else:
        return None, f"invalid padding: {pad}".encode()
    try:
        if decrypting:
            if not isinstance(key, rsa.RSAPrivateKey):
                return None, b"pkey:asymmetric_routine: missing private key"
            return key.decrypt(data, scheme)
        public = key.public_key() if isinstance(key, rsa.RSAPrivateKey) else key
        return public.encrypt(data, scheme)
    except ValueError as exc:
        return None, f"pkey:asymmetric_routine: {exc}".encode()


def backing(host: LuaHost) -> dict[str, Callable[..., Any]]:
    return {"load": load, "generate": generate, "sign": sign, "verify": verify,
            "export": export, "crypt": crypt}
