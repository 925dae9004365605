"""Schema attributes a field's type does not use (tests/lua_plugins/kong/plugins/
compat-schema-leftovers): accepted and ignored, as in Kong's metaschema, which restricts
only validators to the types they fit; a mistake inside such a definition is still an error."""

from __future__ import annotations

from typing import Any

import pytest

from host.config.errors import ConfigError
from host.schema import Schema, SchemaDefinitionError
from tests.conftest import service
from tests.host.lua.test_ngx_base import lua_gateway  # noqa: F401 - fixture


def config(upstream: Any, conf: dict[str, Any]) -> dict[str, Any]:
    return {
        "_format_version": "3.0",
        "services": [{**service(upstream), "routes": [{"paths": ["/"]}]}],
        "plugins": [{"name": "compat-schema-leftovers", "config": conf}],
    }


async def test_plugin_loads_and_validates(lua_gateway, echo_upstream, http):  # noqa: F811
    gw = await lua_gateway(config(echo_upstream, {"batch_size": 50}))
    async with http.get(gw.url + "/s") as resp:
        assert resp.status == 200
        headers = {k.lower(): v for k, v in (await resp.json())["headers"].items()}
    assert headers["x-config"] == "50|plain|false"


async def test_the_field_type_still_rules(lua_gateway, echo_upstream):  # noqa: F811
    with pytest.raises(ConfigError, match="batch_size: expected a number"):
        await lua_gateway(config(echo_upstream, {"batch_size": [1, 2]}))


def test_unused_definitions_are_checked_then_ignored() -> None:
    schema = Schema({"fields": [{"n": {"type": "integer", "elements": {"type": "string"}}}]})
    assert schema.validate({"n": 3}) == ({"n": 3}, {})
    with pytest.raises(SchemaDefinitionError, match=r"n\.values: invalid type: strin"):
        Schema({"fields": [{"n": {"type": "integer", "values": {"type": "strin"}}}]})
    with pytest.raises(
        SchemaDefinitionError, match="n: field of type 'integer' cannot have attribute 'match'"
    ):
        Schema({"fields": [{"n": {"type": "integer", "match": "^%d$"}}]})  # validators stay restricted
