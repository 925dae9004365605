"""The plugin author's kit: scaffolding, validation, packaging and the marketplace index.

- :mod:`host.authorkit.scaffold`: ``moongate plugin new`` (templates in ``_templates``);
- :mod:`host.authorkit.locate` / :mod:`host.authorkit.validate` (+ ``lua_checks``):
  ``moongate plugin validate`` and ``info``;
- :mod:`host.authorkit.metadata`: ``plugin.yaml`` and ``requires-gateway``;
- :mod:`host.authorkit.package` (+ ``pip_install``): ``moongate plugin pack`` and ``install``;
- :mod:`host.authorkit.market`: ``moongate market index|list|search``.

The commands live in host/cli/plugin_cmd.py and host/cli/market_cmd.py.
"""

__all__: list[str] = []
