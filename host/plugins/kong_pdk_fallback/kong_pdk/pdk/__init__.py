"""``kong_pdk.pdk``: the PDK namespace of kong-python-pdk (only ``kong_pdk.pdk.kong`` here)."""
