"""Gateway settings: the kong.conf equivalent, frozen after start-up.

Defaults follow Kong's ``kong_defaults.lua``.  Values come from, in increasing
precedence: the defaults, a settings file, ``KONG_*``/``MOONGATE_*`` environment
variables, and command-line options.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import uuid
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from host.version import KONG_COMPAT_VERSION, MOONGATE_VERSION

__all__ = ["Settings", "SENSITIVE_SETTINGS", "parse_listen"]

#: settings never shown to plugin code (kong.configuration) nor in /status
SENSITIVE_SETTINGS = frozenset({"admin_token", "redis_password", "ssl_cert_key", "pg_password"})

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_listen(value: str) -> tuple[str, int]:
    """``"127.0.0.1:8000"`` or ``"[::1]:8000"`` or ``":8000"`` -> (host, port)."""
    value = value.strip().split()[0]
    if value.startswith("["):
        host, _, port = value[1:].partition("]:")
    else:
        host, _, port = value.rpartition(":")
    if not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"invalid listen address {value!r}: expected HOST:PORT")
    return (host or "0.0.0.0", int(port))


@dataclass
class Settings:
    """The gateway's settings (Kong names where Kong has the setting)."""

    proxy_listen: str = "0.0.0.0:8000"
    status_listen: str = "127.0.0.1:8007"
    admin_listen: str = "127.0.0.1:8001"
    declarative_config: str | None = None
    database: str = "off"
    plugins: list[str] = field(default_factory=lambda: ["bundled"])
    plugins_dirs: list[str] = field(default_factory=list)
    log_level: str = "notice"
    trusted_ips: list[str] = field(default_factory=list)
    real_ip_header: str = "X-Real-IP"
    real_ip_recursive: bool = False
    headers: list[str] = field(
        default_factory=lambda: ["server_tokens", "latency_tokens", "x-kong-request-id"]
    )
    headers_upstream: list[str] = field(default_factory=lambda: ["x-kong-request-id"])
    client_body_buffer_size: int = 1024 * 1024
    client_max_body_size: int = 0  # 0 = unlimited (nginx_http_client_max_body_size)
    max_request_header_size: int = 16384  # total bytes of the request line + headers
    lua_max_req_headers: int = 100
    lua_max_resp_headers: int = 100
    lua_max_uri_args: int = 100
    lua_max_post_args: int = 100
    upstream_keepalive_pool_size: int = 512
    upstream_keepalive_idle_timeout: int = 60
    error_default_type: str = "text/plain"
    untrusted_lua: str = "sandbox"
    trace_plugins: bool = False  # log every plugin handler call (moongate start --trace-plugins)
    kong_python_pdk_lua_style: bool = True  # kong-python-pdk plugins get (value, err) tuples (its default)
    # Lua trust levels and the in-process sandbox (host/lua/sandbox.py, sdk-docs/security.md)
    untrusted_lua_sandbox_requires: list[str] = field(default_factory=list)  # modules it may require
    untrusted_lua_sandbox_environment: list[str] = field(default_factory=list)  # globals linked in, dotted
    plugin_trust: dict[str, str] = field(default_factory=dict)  # plugin name -> trusted | sandboxed | isolated
    plugin_trust_default: str = "trusted"  # plugins found in plugins_dirs
    untrusted_plugins_dirs: list[str] = field(default_factory=list)  # third-party plugins: sandboxed
    sandbox_cpu_budget_ms: int = 50  # CPU time a sandboxed handler may use per phase call
    sandbox_max_memory: int = 64 << 20  # bytes: the memory cap of each sandboxed Lua runtime
    isolated_timeout_ms: int = 1000  # wall-clock ms per phase call of an isolated plugin; then SIGKILL
    isolated_workers: int = 1  # worker processes per isolated plugin (host/isolated/)
    isolated_max_memory: int = 1 << 30  # bytes: RLIMIT_AS of each isolated worker process; 0: none
    # fault accounting (host/plugins/breaker.py, host/plugins/watchdog.py)
    plugin_breaker_threshold: int = 5  # violations of one plugin instance that open its breaker; 0: off
    plugin_breaker_window: int = 10  # seconds in which the threshold must be reached
    plugin_breaker_cooldown: int = 30  # seconds an open breaker keeps the instance out
    plugin_breaker_mode: str = "fail-closed"  # or fail-open: what requests that would run it get
    plugin_phase_timeout: int = 60000  # ms a handler that waits (async, Lua I/O) may take per call; 0: no limit
    admin_token: str | None = None  # required when admin_listen is not a loopback address
    # Admin API and store (host/admin/, host/store/, sdk-docs/admin-api.md)
    admin_client_max_body_size: int = 10 * 1024 * 1024  # bytes (Kong: nginx_admin_client_max_body_size 10m)
    db_update_frequency: float = 5.0  # seconds between each worker's checks of the store's version
    node_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    hostname: str = field(default_factory=socket.gethostname)
    prefix: str = ".moongate"
    # worker processes (host/workers/, sdk-docs/operations.md)
    nginx_worker_processes: str = "auto"  # a number, or auto: the cores this process may run on
    nginx_main_worker_shutdown_timeout: str = "10s"  # SIGTERM: how long in-flight requests may finish
    # Kong's `env` directives: the environment variables Lua plugins may read with os.getenv
    # ("NAME" or "NAME=value", Kong's "A; env B" accepted too); others read nil (TZ always passes)
    nginx_main_env: list[str] = field(default_factory=list)
    # TLS of the proxy listeners (``ssl`` entries of proxy_listen) and of upstreams
    ssl_cert: list[str] = field(default_factory=list)  # PEM files; none: a self-signed default
    ssl_cert_key: list[str] = field(default_factory=list)  # one key file per ssl_cert entry
    ssl_cipher_suite: str = "intermediate"  # modern, intermediate, old or custom
    ssl_ciphers: str | None = None  # OpenSSL cipher list, with ssl_cipher_suite = custom
    ssl_protocols: str = "TLSv1.2 TLSv1.3"  # with ssl_cipher_suite = custom
    nginx_proxy_proxy_ssl_verify: bool = False  # verify upstream certificates (service tls_verify unset)
    # observability (py_plugins/syslog, py_plugins/opentelemetry, host/tracing.py)
    syslog_target: str = ""  # syslog plugin: a Unix socket path or HOST:PORT (UDP); empty: /dev/log, else 127.0.0.1:514
    tracing_instrumentations: list[str] = field(default_factory=lambda: ["off"])  # Kong's: off, all, request, router, plugin_access, ...
    tracing_sampling_rate: float = 0.01  # Kong's: share of requests traced when no plugin sets sampling_rate

    def __post_init__(self) -> None:
        self._trusted: list[IPNetwork] = []
        self._trust_all = False
        self.set_trusted_ips(self.trusted_ips)

    # -- trusted IPs --------------------------------------------------------------------
    def set_trusted_ips(self, entries: list[str]) -> None:
        nets: list[IPNetwork] = []
        for entry in entries:
            entry = entry.strip()
            if not entry or entry.startswith("unix:"):
                continue
            nets.append(ipaddress.ip_network(entry, strict=False))
        self.trusted_ips = list(entries)
        self._trusted = nets
        self._trust_all = any(n.prefixlen == 0 for n in nets)

    def is_trusted(self, address: str) -> bool:
        """Whether ``address`` is in ``trusted_ips`` (Kong's ``kong.ip.is_trusted``)."""
        if self._trust_all:
            return True
        if not self._trusted:
            return False
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in net for net in self._trusted)

    # -- views ----------------------------------------------------------------------------
    @property
    def server_token(self) -> str:
        return f"moongate/{MOONGATE_VERSION}"

    def header_enabled(self, token: str) -> bool:
        """Whether a response header token (``server_tokens``, ``latency_tokens``, ...) is on."""
        tokens = self.headers
        return "off" not in tokens and token in tokens

    def public_view(self) -> dict[str, Any]:
        """The settings without sensitive values (what ``kong.configuration`` shows)."""
        data = {k: v for k, v in asdict(self).items() if k not in SENSITIVE_SETTINGS}
        for key in ("proxy_listen", "status_listen", "admin_listen"):  # arrays in Kong's view
            if isinstance(data.get(key), str):
                data[key] = [part.strip() for part in data[key].split(",") if part.strip()]
        data["kong_version"] = KONG_COMPAT_VERSION
        data["moongate_version"] = MOONGATE_VERSION
        return data

    @classmethod
    def known(cls) -> set[str]:
        return {f.name for f in fields(cls)}

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides: Any) -> Settings:
        """Defaults, then ``KONG_<NAME>``/``MOONGATE_<NAME>`` variables, then ``overrides``."""
        environ = dict(os.environ if environ is None else environ)
        values: dict[str, Any] = {}
        for f in fields(cls):
            for prefix in ("KONG_", "MOONGATE_"):
                raw = environ.get(prefix + f.name.upper())
                if raw is not None:
                    values[f.name] = _coerce(f.type, raw)
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)


def _coerce(type_name: Any, raw: str) -> Any:
    t = str(type_name)
    if t.startswith("list"):
        return [part.strip() for part in raw.split(",") if part.strip()]
    if t == "bool":
        return raw.strip().lower() in ("on", "true", "1", "yes")
    if t == "int":
        return int(raw)
    if t == "float":
        return float(raw)
    if t.startswith("dict"):  # "name:value, other:value"
        pairs = (part.partition(":") for part in raw.split(",") if part.strip())
        return {k.strip(): v.strip() for k, _, v in pairs}
    return raw
