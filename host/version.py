"""Version numbers: Moongate's own, and the Kong version whose PDK it implements."""

MOONGATE_VERSION = "0.1.0"
#: kong.version / kong.meta: plugins compare against this to check PDK compatibility
KONG_COMPAT_VERSION = "3.10.0"
KONG_COMPAT_VERSION_NUM = 31000
