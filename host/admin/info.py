"""Node endpoints: ``GET /``, ``/status``, ``/plugins/enabled``, upstream health, ``/config``.

``GET /config`` returns the running configuration as Kong does (``{"config":
"<yaml>"}``, the flat storage form with ``_transform: false``), in both storage
modes (Kong serves it in DB-less mode only; Moongate's ``config dump`` uses it
everywhere).  ``POST /config`` replaces everything from a declarative body (JSON
or YAML, or a form field ``config``), validated by the same loader as files; it
is DB-less's only write and, a Moongate addition, also replaces the SQLite
store's content in one transaction.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import yaml
from aiohttp import web

from host.admin.errors import AdminError, bad_request, not_found
from host.admin.state import ConfigState
from host.config import ConfigError, load_data
from host.config.parse import ParseError, parse_text
from host.store.boot import config_lists, storage_document
from host.version import KONG_COMPAT_VERSION, MOONGATE_VERSION

if TYPE_CHECKING:
    from host.gateway import Gateway

__all__ = ["routes"]

_CONFIG_SOURCE = "config"


def routes(app: web.Application, gateway: Gateway, state: ConfigState) -> None:
    """Register the node endpoints on ``app``."""

    async def root(request: web.Request) -> web.Response:
        settings = gateway.settings
        available = {s.name: {"version": s.version, "priority": s.priority} for s in gateway.registry}
        enabled = sorted({p["name"] for p in gateway.snapshot.config.plugins})
        body: dict[str, Any] = {
            "tagline": "Welcome to Moongate",
            "version": KONG_COMPAT_VERSION,
            "moongate_version": MOONGATE_VERSION,
            "edition": "community",
            "hostname": settings.hostname,
            "node_id": settings.node_id,
            "lua_version": "LuaJIT 2.1",
            "pids": {
                "master": os.getppid() if gateway_worker(gateway) else os.getpid(),
                "workers": [os.getpid()],
            },
            "plugins": {"available_on_server": available, "enabled_in_cluster": enabled},
            "configuration": settings.public_view(),
        }
        return web.json_response(body)

    async def status(request: web.Request) -> web.StreamResponse:
        return await gateway._status(request)  # the status listener's own answer

    async def enabled(request: web.Request) -> web.Response:
        return web.json_response({"enabled_plugins": gateway.registry.names()})

    async def health(request: web.Request) -> web.Response:
        upstream = _upstream(state, request.match_info["upstream"])
        try:
            from host.balancer.health import health_report
        except ImportError:
            health_report = None
        if health_report is not None:
            balancer_health = request.query.get("balancer_health") in ("1", "true")
            report = health_report(
                gateway.snapshot,
                upstream["id"],
                balancer_health=balancer_health,
                node_id=gateway.settings.node_id,
            )
            if report is None:
                raise not_found()
            return web.json_response(report)
        targets = [
            {**t, "health": "HEALTHCHECKS_OFF", "data": {"addresses": []}}
            for t in state.index.rows("targets")
            if (t.get("upstream") or {}).get("id") == upstream["id"]
        ]
        return web.json_response({"data": targets, "next": None, "node_id": gateway.settings.node_id})

    async def set_health(request: web.Request) -> web.Response:
        """``PUT /upstreams/{u}/targets/{t}/healthy|unhealthy``: 204 (this worker's balancer)."""
        upstream = _upstream(state, request.match_info["upstream"])
        try:
            from host.balancer.health import set_target_health
        except ImportError:
            raise not_found() from None
        healthy = request.match_info["state"] == "healthy"
        if not set_target_health(gateway.snapshot, upstream["id"], request.match_info["target"], healthy):
            raise not_found()
        return web.Response(status=204)

    async def targets_all(request: web.Request) -> web.Response:
        upstream = _upstream(state, request.match_info["upstream"])
        rows = [
            t for t in state.index.rows("targets") if (t.get("upstream") or {}).get("id") == upstream["id"]
        ]
        return web.json_response({"data": rows, "next": None})

    async def get_config(request: web.Request) -> web.Response:
        text = yaml.safe_dump(storage_document(gateway.snapshot.config), sort_keys=False, allow_unicode=True)
        return web.json_response({"config": text})

    async def post_config(request: web.Request) -> web.Response:
        if state.lock.locked():
            raise AdminError(
                429, {"message": "Currently loading previous configuration"}, {"Retry-After": "1"}
            )
        document = await _declarative_body(request)
        try:
            config = load_data(document, gateway.registry, source=_CONFIG_SOURCE)
        except ConfigError as err:
            raise AdminError(
                400,
                {
                    "code": 14,
                    "name": "invalid declarative configuration",
                    "message": "declarative config is invalid: " + "; ".join(err.errors),
                    "fields": _config_fields(err.errors),
                    "flattened_errors": err.errors,
                },
            ) from None
        if request.query.get("check_hash") in ("1", "true") and storage_document(config) == storage_document(
            gateway.snapshot.config
        ):
            return web.Response(status=304)
        await state.replace(config)
        lists = {name: rows for name, rows in config_lists(config).items() if rows}
        return web.json_response(lists, status=201)

    app.router.add_get("/", root)
    app.router.add_get("/status", status)
    app.router.add_get("/plugins/enabled", enabled)
    app.router.add_get("/upstreams/{upstream}/health", health)
    app.router.add_get("/upstreams/{upstream}/targets/all", targets_all)
    app.router.add_put("/upstreams/{upstream}/targets/{target}/{state:healthy|unhealthy}", set_health)
    app.router.add_get("/config", get_config)
    app.router.add_post("/config", post_config)


def gateway_worker(gateway: Gateway) -> bool:
    return getattr(gateway, "worker_id", None) is not None


def _upstream(state: ConfigState, ref: str) -> dict[str, Any]:
    coll = state.collections["upstreams"]
    row = state.index.find(coll, ref)
    if row is None:
        raise not_found()
    return row


async def _declarative_body(request: web.Request) -> Any:
    if request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        text = (await request.post()).get("config")
        if not isinstance(text, str):
            raise bad_request("expected a declarative configuration")
    else:
        text = (await request.read()).decode("utf-8", "replace")
    if not text.strip():
        raise bad_request("expected a declarative configuration")
    try:
        return parse_text(text)
    except ParseError as exc:
        raise AdminError(
            400,
            {
                "code": 14,
                "name": "invalid declarative configuration",
                "message": f"failed parsing declarative configuration: {exc}",
            },
        ) from None


def _config_fields(errors: list[str]) -> dict[str, Any]:
    """``{"services[0]": {"host": "required field missing"}, ...}`` from the loader's lines."""
    from host.admin.errors import _parse_line

    fields: dict[str, Any] = {}
    for line in errors:
        path, field, message = _parse_line(line, _CONFIG_SOURCE)
        node = fields.setdefault(path or "@entity", {}) if path else fields
        if field is None:
            node.setdefault("@entity", []).append(message)
        else:
            node[field] = message
    return fields
