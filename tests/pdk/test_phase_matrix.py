"""Every public PDK function x every phase: allowed phases run, the others raise Kong's error.

The expected sets are written out from the phase table of Kong's PDK (what
``kong/pdk/private/phases.lua`` checks enforce), independently of the constants in
``pdk.phases``, so a wrong declaration fails here.
"""

from __future__ import annotations

from typing import Any

import pytest

from pdk import NAMESPACES, namespace_module
from pdk.errors import ExitSignal, PDKError, PDKPhaseError
from pdk.phases import Phase

from .conftest import CONSUMER


def _set(*names: str) -> frozenset[str]:
    return frozenset(names)


ALL = frozenset(p.name for p in Phase)
REQ = _set(
    "rewrite", "access", "balancer", "response", "header_filter", "body_filter", "log", "error", "admin_api"
)
NOT_IW = REQ | {"certificate"}
AUTH = _set("access", "response", "header_filter", "body_filter", "log")
CTX = _set("rewrite", "access", "response", "header_filter", "body_filter", "log")
EXIT = _set("rewrite", "access", "response", "balancer", "header_filter", "error", "admin_api")
HBL = _set("response", "header_filter", "body_filter", "log", "error", "admin_api")
SHBL = _set("response", "header_filter", "body_filter", "log")
BODY_IN = _set("rewrite", "access", "response", "error", "admin_api")
RA = _set("rewrite", "access")
RAB = _set("rewrite", "access", "balancer")

EXPECTED: dict[str, frozenset[str]] = {
    **{f"kong.table.{n}": ALL for n in ("new", "clear", "merge")},
    **{f"kong.node.{n}": ALL for n in ("get_id", "get_hostname", "get_memory_stats")},
    **{
        f"kong.log.{n}": ALL
        for n in (
            "debug",
            "info",
            "notice",
            "warn",
            "err",
            "crit",
            "alert",
            "emerg",
            "trace",
            "inspect",
            "deprecation",
        )
    },
    "kong.log.set_serialize_value": CTX,
    "kong.log.serialize": _set("log"),
    "kong.ip.is_trusted": ALL,
    **{f"kong.client.{n}": NOT_IW for n in ("get_ip", "get_forwarded_ip", "get_port", "get_forwarded_port")},
    **{f"kong.client.{n}": AUTH for n in ("get_credential", "get_consumer", "load_consumer", "get_protocol")},
    "kong.client.authenticate": _set("access"),
    "kong.service.set_upstream": _set("access"),
    "kong.service.set_target": RAB,
    "kong.service.set_retries": _set("access"),
    "kong.service.set_timeouts": _set("access"),
    **{
        f"kong.request.{n}": REQ
        for n in (
            "get_scheme",
            "get_host",
            "get_forwarded_scheme",
            "get_forwarded_host",
            "get_forwarded_port",
            "get_forwarded_path",
            "get_forwarded_prefix",
            "get_http_version",
            "get_method",
            "get_path",
            "get_raw_path",
            "get_path_with_query",
            "get_raw_query",
            "get_query_arg",
            "get_query",
            "get_header",
            "get_headers",
            "get_start_time",
            "get_uri_captures",
        )
    },
    "kong.request.get_port": NOT_IW,
    "kong.request.get_raw_body": BODY_IN,
    "kong.request.get_body": BODY_IN,
    **{
        f"kong.service.request.{n}": RAB for n in ("enable_buffering", "set_scheme", "set_path", "set_header")
    },
    "kong.service.request.set_raw_body": RAB,
    **{
        f"kong.service.request.{n}": RA
        for n in (
            "set_raw_query",
            "set_method",
            "set_query",
            "clear_query_arg",
            "add_header",
            "clear_header",
            "set_headers",
            "set_body",
        )
    },
    **{
        f"kong.service.response.{n}": SHBL
        for n in ("get_status", "get_headers", "get_header", "get_raw_body", "get_body")
    },
    **{f"kong.response.{n}": HBL for n in ("get_status", "get_header", "get_headers", "get_source")},
    **{
        f"kong.response.{n}": EXIT
        for n in ("set_status", "set_header", "add_header", "clear_header", "set_headers", "exit", "error")
    },
    "kong.response.get_raw_body": _set("body_filter"),
    "kong.response.set_raw_body": _set("body_filter"),
    "kong.router.get_route": AUTH,
    "kong.router.get_service": AUTH,
    "kong.nginx.get_subsystem": ALL,
    "kong.nginx.get_statistics": ALL,
    "kong.plugin.get_id": CTX,
    "kong.client.tls.request_client_certificate": _set("certificate"),
    "kong.client.tls.disable_session_reuse": _set("certificate"),
    "kong.client.tls.get_full_client_certificate_chain": _set("rewrite", "access", "response", "balancer", "log"),
    "kong.client.tls.set_client_verify": _set("rewrite", "access", "response", "balancer"),
    "kong.client.tls.get_server_name": NOT_IW,  # Moongate's: ngx.ssl.server_name() works in these
}

#: arguments that pass validation, so only the phase check can fail
ARGS: dict[str, tuple[Any, ...]] = {
    "kong.table.clear": ({},),
    "kong.ip.is_trusted": ("10.0.0.1",),
    "kong.client.load_consumer": (CONSUMER["id"],),
    "kong.client.authenticate": (CONSUMER,),
    "kong.service.set_upstream": ("billing",),
    "kong.service.set_target": ("h", 80),
    "kong.service.set_retries": (1,),
    "kong.service.set_timeouts": (1, 1, 1),
    "kong.request.get_query_arg": ("a",),
    "kong.request.get_header": ("X-A",),
    "kong.service.request.set_scheme": ("http",),
    "kong.service.request.set_path": ("/",),
    "kong.service.request.set_raw_query": ("a=1",),
    "kong.service.request.set_method": ("GET",),
    "kong.service.request.set_query": ({"a": "1"},),
    "kong.service.request.clear_query_arg": ("a",),
    "kong.service.request.set_header": ("X-A", "1"),
    "kong.service.request.add_header": ("X-A", "1"),
    "kong.service.request.clear_header": ("X-A",),
    "kong.service.request.set_headers": ({"X-A": "1"},),
    "kong.service.request.set_raw_body": ("x",),
    "kong.service.request.set_body": ({"a": 1}, "application/json"),
    "kong.service.response.get_header": ("X-A",),
    "kong.response.get_header": ("X-A",),
    "kong.response.set_status": (200,),
    "kong.response.set_header": ("X-A", "1"),
    "kong.response.add_header": ("X-A", "1"),
    "kong.response.clear_header": ("X-A",),
    "kong.response.set_headers": ({"X-A": "1"},),
    "kong.response.set_raw_body": ("x",),
    "kong.response.exit": (200,),
    "kong.response.error": (500,),
    "kong.log.set_serialize_value": ("a", 1),
    "kong.client.tls.set_client_verify": ("NONE",),
}


def _public_functions() -> dict[str, Any]:
    found = {}
    for public_name, _ in NAMESPACES:
        module = namespace_module(public_name)
        for name in module.__all__:
            found[f"kong.{public_name}.{name}"] = getattr(module, name)
    return found


FUNCTIONS = _public_functions()


def test_the_matrix_covers_every_public_function():
    assert set(FUNCTIONS) == set(EXPECTED)


@pytest.mark.parametrize("public", sorted(EXPECTED))
def test_declared_phases(public):
    declared = FUNCTIONS[public].__phases__
    assert {p.name for p in Phase if p & declared} == EXPECTED[public]


@pytest.mark.parametrize("public", sorted(EXPECTED))
def test_phase_checks_at_run_time(use, public):
    fn = FUNCTIONS[public]
    allowed = EXPECTED[public]
    allowed_text = ", ".join(p.name for p in Phase if p.name in allowed)
    for phase in Phase:
        use(
            phase=phase,
            headers={"Content-Type": "application/json"},
            route={"protocols": ["http"]},
            buffered_proxying=True,
            body=b"{}",
            service_body=b"{}",
            body_eof=True,
        )
        if phase.name in allowed:
            try:
                fn(*ARGS.get(public, ()))
            except PDKPhaseError as exc:  # pragma: no cover - the failure message
                pytest.fail(f"{public} refused in {phase.name}: {exc}")
            except (ExitSignal, PDKError):
                pass
        else:
            with pytest.raises(PDKPhaseError) as info:
                fn(*ARGS.get(public, ()))
            expected = f"function cannot be called in {phase.name} phase (only in: {allowed_text})"
            assert expected in str(info.value)
