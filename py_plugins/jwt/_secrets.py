"""The jwt_secrets of a configuration snapshot, indexed by ``key`` (built once per snapshot).

A snapshot is immutable and a reload swaps in a new one, so the index is built
on first use for each snapshot and kept in a weak dict: requests on the new
snapshot see the new secrets all at once, in-flight requests keep theirs, and the
index goes away with its snapshot.  Keys are prepared lazily, once per secret.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from weakref import WeakKeyDictionary

from py_plugins.jwt._token import b64url_decode, prepare_key

if TYPE_CHECKING:  # pragma: no cover
    from host.config.snapshot import Snapshot

__all__ = ["Secret", "secrets_of"]

_UNSET = object()


class Secret:
    """One jwt_secrets credential, its consumer, and its verification keys (made on first use)."""

    __slots__ = ("row", "consumer", "algorithm", "_plain", "_b64", "_public")

    def __init__(self, row: dict[str, Any], consumer: dict[str, Any] | None) -> None:
        self.row = row
        self.consumer = consumer
        self.algorithm: str = row.get("algorithm") or "HS256"
        self._plain: Any = _UNSET
        self._b64: Any = _UNSET
        self._public: Any = _UNSET

    @property
    def symmetric(self) -> bool:
        return self.algorithm.startswith("HS")

    def key(self, secret_is_base64: bool) -> Any:
        """The prepared key, or None when the credential has no usable key/secret."""
        if self.symmetric:
            if secret_is_base64:
                if self._b64 is _UNSET:
                    self._b64 = _decoded_secret(self.row.get("secret"))
                return self._b64
            if self._plain is _UNSET:
                secret = self.row.get("secret")
                self._plain = None if secret is None else prepare_key(self.algorithm, secret)
            return self._plain
        if self._public is _UNSET:
            pem = self.row.get("rsa_public_key")
            try:
                self._public = None if not pem else prepare_key(self.algorithm, pem)
            except ValueError:
                self._public = None
        return self._public


def _decoded_secret(secret: str | None) -> bytes | None:
    if secret is None:
        return None
    try:
        return b64url_decode(secret.rstrip("="))
    except (ValueError, UnicodeError):
        return None


_INDEXES: WeakKeyDictionary[Snapshot, dict[str, Secret]] = WeakKeyDictionary()


def _build(snapshot: Snapshot) -> dict[str, Secret]:
    index: dict[str, Secret] = {}
    for row in snapshot.credentials("jwt_secrets"):
        key = row.get("key")
        if not isinstance(key, str):
            continue
        consumer_ref = row.get("consumer") or {}
        consumer = snapshot.consumer_by_id(consumer_ref.get("id", ""))
        index[key] = Secret(row, consumer)
    return index


def secrets_of(snapshot: Snapshot) -> dict[str, Secret]:
    """``key -> Secret`` for the snapshot (built on first use)."""
    index = _INDEXES.get(snapshot)
    if index is None:
        index = _INDEXES[snapshot] = _build(snapshot)
    return index
