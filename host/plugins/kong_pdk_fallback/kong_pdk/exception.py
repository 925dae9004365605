"""``kong_pdk.exception.PDKException``: the error kong-python-pdk raises without Lua style."""

from host.plugins.kong_python_pdk import PDKException

__all__ = ["PDKException"]
