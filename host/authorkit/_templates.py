"""The files ``moongate plugin new`` writes, as ``str.format`` templates.

Placeholders: ``{name}`` (plugin name, ``my-plugin``), ``{module}`` (Python module,
``my_plugin``), ``{title}`` (``MyPlugin``), ``{header}`` (``X-My-Plugin``),
``{requires}`` (the ``requires-gateway`` range).  Literal braces are doubled.
"""

from __future__ import annotations

__all__ = ["COMMON", "LUA", "PYTHON"]

PLUGIN_YAML = """\
# Package metadata: read by `moongate plugin pack`, `install` and `market index`.
name: {name}
version: "0.1.0"
description: Adds a greeting header to requests and responses.
categories: [transformations]
language: {language}
publisher: ""
license: Apache-2.0
requires-gateway: "{requires}"
scopes: [global, service, route, consumer]
protocols: [http, https]
"""

WORKFLOW = """\
# Runs the plugin's tests on every push and pull request.
name: test
on: [push, pull_request]
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-python@v5
        with:
          python-version: "3.11"
      - run: pip install "moongate[test]"   # add your plugin's own dependencies here
      - run: moongate plugin validate .
      - run: python -m pytest -q
"""

README = """\
# {name}

A Moongate plugin ({language}) made by `moongate plugin new`.  It sets the header
`{header}` (configurable) on the request sent upstream and on the response.

## Configuration

| field | default | meaning |
| --- | --- | --- |
| `message` | `hello` | the header's value |
| `header` | `{header}` | the header's name |

```yaml
plugins:
  - name: {name}
    config:
      message: hi
```

## Develop

```console
$ python -m pytest -q                 # the tests in tests/ (Moongate's pytest plugin)
$ moongate plugin validate .          # every load problem, with file and line
$ moongate dev -c kong.yml --plugins-dir {plugins_dir}   # reloads on every edit
$ moongate plugin pack . -o dist      # dist/{name}-0.1.0.tar.gz + .sha256
$ moongate plugin install dist/{name}-0.1.0.tar.gz --plugins-dir /etc/moongate/plugins
```
"""

COMMON = {"plugin.yaml": PLUGIN_YAML, ".github/workflows/test.yml": WORKFLOW, "README.md": README}

LUA_HANDLER = """\
-- {name}: sets a header on the request sent upstream and on the response.
-- Made by `moongate plugin new`; Kong's layout (kong/plugins/{name}/), runs on Kong too.
local Handler = {{
  PRIORITY = 1000,
  VERSION = "0.1.0",
}}

function Handler:access(conf)
  kong.service.request.set_header(conf.header, conf.message)
end

function Handler:header_filter(conf)
  kong.response.set_header(conf.header, conf.message)
end

return Handler
"""

LUA_SCHEMA = """\
-- {name}'s configuration: the header's value and name.
local typedefs = require "kong.db.schema.typedefs"

return {{
  name = "{name}",
  fields = {{
    {{ protocols = typedefs.protocols_http }},
    {{ config = {{
        type = "record",
        fields = {{
          {{ message = {{ type = "string", default = "hello", required = true,
              description = "The header's value." }} }},
          {{ header = {{ type = "string", default = "{header}", required = true,
              description = "The header's name." }} }},
        }},
    }} }},
  }},
}}
"""

LUA_TEST = '''\
"""Tests of {name} through a real gateway (Moongate's pytest plugin: gateway, mock_upstream)."""

import pytest

from host.config import ConfigError


async def test_header_reaches_upstream_and_client(gateway, mock_upstream):
    gw = await gateway.start(plugins=[{{"name": "{name}", "config": {{"message": "hi"}}}}])
    resp = await gw.get("/anything")
    assert resp.status == 200
    assert resp.headers["{header}"] == "hi"
    assert mock_upstream.requests[-1].headers["{header}"] == "hi"


async def test_defaults(gateway):
    gw = await gateway.start(plugins=[{{"name": "{name}"}}])
    resp = await gw.get("/")
    assert resp.headers["{header}"] == "hello"


async def test_unknown_config_field_is_refused(gateway):
    with pytest.raises(ConfigError) as excinfo:
        await gateway.start(plugins=[{{"name": "{name}", "config": {{"mesage": "hi"}}}}])
    assert "config.mesage: unknown field" in excinfo.value.errors[0]
'''

LUA_PYTEST_INI = """\
[pytest]
asyncio_mode = auto
asyncio_default_fixture_loop_scope = function
moongate_plugins_dirs = .
"""

LUA = {
    "kong/plugins/{name}/handler.lua": LUA_HANDLER,
    "kong/plugins/{name}/schema.lua": LUA_SCHEMA,
    "tests/test_{module}.py": LUA_TEST,
    "pytest.ini": LUA_PYTEST_INI,
}

PY_PLUGIN = '''\
"""{name}: sets a header on the request sent upstream and on the response."""

PRIORITY = 1000
VERSION = "0.1.0"
SCHEMA = [
    {{"message": {{"type": "string", "default": "hello", "required": True, "description": "The header's value."}}}},
    {{"header": {{"type": "string", "default": "{header}", "required": True, "description": "The header's name."}}}},
]


def access(kong, conf):
    kong.service.request.set_header(conf["header"], conf["message"])


def header_filter(kong, conf):
    kong.response.set_header(conf["header"], conf["message"])
'''

PY_TEST = '''\
"""Tests of {name}: through a real gateway, and one handler alone with fake_kong."""

import pytest
import {module}

from host.config import ConfigError

CONF = {{"message": "hi", "header": "{header}"}}


async def test_header_reaches_upstream_and_client(gateway, mock_upstream):
    gw = await gateway.start(plugins=[{{"name": "{name}", "config": {{"message": "hi"}}}}])
    resp = await gw.get("/anything")
    assert resp.status == 200
    assert resp.headers["{header}"] == "hi"
    assert mock_upstream.requests[-1].headers["{header}"] == "hi"


def test_access_alone(fake_kong):
    fk = fake_kong(path="/orders")
    fk.run({module}, "access", CONF)
    assert fk.service_headers["{header}"] == "hi"
    assert not fk.exited


async def test_unknown_config_field_is_refused(gateway):
    with pytest.raises(ConfigError) as excinfo:
        await gateway.start(plugins=[{{"name": "{name}", "config": {{"mesage": "hi"}}}}])
    assert "config.mesage: unknown field" in excinfo.value.errors[0]
'''

PY_PYPROJECT = """\
[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"

[project]
name = "moongate-{name}"
version = "0.1.0"
description = "Adds a greeting header to requests and responses."
requires-python = ">=3.11"
dependencies = ["moongate"]

[project.optional-dependencies]
test = ["moongate[test]"]

# how the gateway finds the plugin once installed: name = module
[project.entry-points."moongate.plugins"]
{name} = "{module}"

[tool.setuptools.packages.find]
where = ["plugins"]

# marketplace metadata (plugin.yaml holds the same fields; `moongate plugin validate` compares them)
[tool.moongate.plugin]
name = "{name}"
version = "0.1.0"
language = "python"
categories = ["transformations"]
requires-gateway = "{requires}"
scopes = ["global", "service", "route", "consumer"]
protocols = ["http", "https"]
"""

PY_PYTEST_INI = """\
[pytest]
asyncio_mode = auto
asyncio_default_fixture_loop_scope = function
pythonpath = plugins
moongate_plugins_dirs = plugins
"""

PYTHON = {
    "plugins/{module}/__init__.py": PY_PLUGIN,
    "tests/test_{module}.py": PY_TEST,
    "pyproject.toml": PY_PYPROJECT,
    "pytest.ini": PY_PYTEST_INI,
}
