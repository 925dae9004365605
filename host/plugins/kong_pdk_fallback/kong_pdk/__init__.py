"""Moongate's stand-in for the ``kong_pdk`` package (kong-python-pdk), used only when that
package is not installed, so that plugins written for it import unmodified.  Moongate runs
such plugins in-process (host/plugins/kong_python_pdk.py); this package holds only names
those plugins import."""

from kong_pdk.exception import PDKException

__all__ = ["PDKException"]
