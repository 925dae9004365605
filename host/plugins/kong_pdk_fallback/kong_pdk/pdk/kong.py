"""``kong_pdk.pdk.kong``: plugins import it for the type of their handlers' argument
(``def access(self, kong: kong.kong)``); at run time Moongate passes its own PDK view."""


class kong:  # noqa: N801 - kong-python-pdk's name
    """The type of the ``kong`` argument of a kong-python-pdk plugin's phase methods."""
