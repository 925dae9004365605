"""Python half of ``resty.aes``: the one of ``resty.openssl.cipher`` (same functions)."""

from host.lua.modules.resty_openssl_cipher import backing

__all__ = ["backing"]
