"""Host, IP and CIDR parsing with Kong's rules and messages (``kong/tools/ip.lua`` and typedefs)."""

from __future__ import annotations

import ipaddress
import re
from typing import Any

__all__ = [
    "normalize_ip",
    "format_host",
    "is_valid_ip",
    "validate_host",
    "validate_host_with_optional_port",
    "validate_wildcard_host",
    "validate_sni",
    "validate_ip",
    "validate_ipv4",
    "validate_ipv6",
    "validate_ip_or_cidr",
    "validate_cidr_v4",
    "validate_cidr_v6",
]

Result = tuple[bool | None, Any]

_IPV4_PORT = re.compile(r"^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?::(\d+))?\Z")
_IPV6_GROUPS = re.compile(r"^([0-9a-fA-F]{1,4}:){7}[0-9a-fA-F]{1,4}\Z")
_HOSTNAME = re.compile(r"^[0-9A-Za-z\-._]+\Z")
_PORT_SUFFIX = re.compile(r":(\d+)\Z")


def hostname_type(name: str) -> str:
    """``ipv4``, ``ipv6`` or ``name``, decided by exclusion as Kong does (not a validation)."""
    if name.count(":") > 1:
        return "ipv6"
    if re.fullmatch(r"[\d.]+", name.replace(":", "")):
        return "ipv4"
    return "name"


def _normalize_ipv4(address: str) -> tuple[str | None, Any]:
    match = _IPV4_PORT.match(address)
    if not match or (":" in address and match.group(5) is None):
        return None, f"invalid ipv4 address: {address}"
    octets = [int(x) for x in match.groups()[:4]]
    if any(o > 255 for o in octets):
        return None, f"invalid ipv4 address: {address}"
    port = match.group(5)
    if port is not None:
        port = int(port)
        if port > 65535:
            return None, "invalid port number"
    return ".".join(str(o) for o in octets), port


def _normalize_ipv6(address: str) -> tuple[str | None, Any]:
    port: Any = None
    check = address
    if address.startswith("[") and "]" in address:
        close = address.index("]")
        check, rest = address[1:close], address[close + 1 :]
        if rest:
            found = re.fullmatch(r":(\d+)", rest)
            if not found:
                return None, "invalid ipv6 address"
            port = int(found.group(1))
            if port > 65535:
                return None, "invalid port number"
    if check.startswith(":"):
        check = "0" + check
    if check.endswith(":"):
        check += "0"
    if "::" in check:
        missing = 8 - check.count(":")
        check = check.replace("::", ":" + "0:" * max(missing, 0), 1)
    if not _IPV6_GROUPS.match(check):
        return None, f"invalid ipv6 address: {address}"
    return ":".join(group.rjust(4, "0") for group in check.split(":")).lower(), port


def _check_hostname(address: str) -> tuple[str | None, Any]:
    name, port = address, None
    found = _PORT_SUFFIX.search(address)
    if found:
        name = address[: found.start()]
        port = int(found.group(1))
        if port > 65535:
            return None, "invalid port number"
    if not _HOSTNAME.match(name):
        return None, f"invalid hostname: {address}"
    segments = name.split(".")
    for index, segment in enumerate(segments, 1):
        if segment.endswith("-") or (segment == "" and index != len(segments)):
            return None, f"invalid hostname: {address}"
    return name, port


def normalize_ip(address: str) -> tuple[dict[str, Any] | None, Any]:
    """Kong's ``normalize_ip``: ``({"type", "host", "port"}, port)`` or ``(None, error)``."""
    kind = hostname_type(address)
    parse = {"ipv4": _normalize_ipv4, "ipv6": _normalize_ipv6, "name": _check_hostname}[kind]
    host, port_or_err = parse(address)
    if host is None:
        return None, port_or_err
    return {"type": kind, "host": host, "port": port_or_err}, port_or_err


def format_host(parsed: dict[str, Any], default_port: int | None = None) -> str:
    """``host:port`` from a parsed address; IPv6 in brackets (Kong's ``format_host``)."""
    port = parsed.get("port") or default_port
    host = parsed["host"]
    if parsed["type"] == "ipv6":
        host = f"[{host}]"
    return f"{host}:{port}" if port is not None else host


def is_valid_ip(value: str, version: int | None = None) -> bool:
    """A plain IPv4/IPv6 address, as ``inet_pton`` accepts it (no zone, no leading zeros)."""
    if not isinstance(value, str) or "%" in value:
        return False
    try:
        parsed = ipaddress.ip_address(value)
    except ValueError:
        return False
    return version is None or parsed.version == version


def _is_valid_cidr(value: str, version: int) -> bool:
    ip, sep, prefix = value.partition("/")
    limit = 32 if version == 4 else 128
    if not sep or not re.fullmatch(r"0|[1-9]\d{0,2}", prefix) or int(prefix) > limit:
        return False
    return is_valid_ip(ip, version)


def _host_rules(host: str, *, allow_ip: bool) -> Result:
    parsed, err_or_port = normalize_ip(host)
    if isinstance(err_or_port, str) and err_or_port != "invalid port number":
        return None, f"invalid value: {host}"
    if parsed is not None and not allow_ip and parsed["type"] != "name":
        return None, "must not be an IP"
    if err_or_port == "invalid port number" or isinstance(err_or_port, int):
        return None, "must not have a port"
    return True, None


def validate_host(host: str) -> Result:
    """A host name or IP without a port."""
    return _host_rules(host, allow_ip=True)


def validate_host_with_optional_port(host: str) -> Result:
    """A host name or IP with an optional ``:port``."""
    parsed, err_or_port = normalize_ip(host)
    return (True, None) if parsed is not None else (None, err_or_port)


def validate_sni(host: str) -> Result:
    """A host name (no IP, no port), as used for SNIs."""
    return _host_rules(host, allow_ip=False)


def validate_wildcard_host(host: str) -> Result:
    """A host name with at most one ``*``, leftmost or rightmost; no IP, no port."""
    index = host.find("*")
    if index != -1:
        if index not in (0, len(host) - 1):
            return None, "wildcard must be leftmost or rightmost character"
        if host.count("*") > 1:
            return None, "only one wildcard must be specified"
        host = host.replace("*", "wildcard")
    return _host_rules(host, allow_ip=False)


def validate_ip(value: str) -> Result:
    return (True, None) if is_valid_ip(value) else (None, f"not an ip address: {value}")


def validate_ipv4(value: str) -> Result:
    return (True, None) if is_valid_ip(value, 4) else (None, f"not an ipv4 address: {value}")


def validate_ipv6(value: str) -> Result:
    return (True, None) if is_valid_ip(value, 6) else (None, f"not an ipv6 address: {value}")


def validate_ip_or_cidr(value: str) -> Result:
    ok = is_valid_ip(value) or _is_valid_cidr(value, 4) or _is_valid_cidr(value, 6)
    return (True, None) if ok else (None, f"invalid ip or cidr range: '{value}'")


def validate_cidr_v4(value: str) -> Result:
    """An IPv4 CIDR range; like Kong, a plain IPv4 address is accepted too."""
    ok = is_valid_ip(value, 4) or _is_valid_cidr(value, 4)
    return (True, None) if ok else (None, f"invalid ipv4 cidr range: '{value}'")


def validate_cidr_v6(value: str) -> Result:
    """An IPv6 CIDR range (a plain IPv6 address is accepted too)."""
    ok = is_valid_ip(value, 6) or _is_valid_cidr(value, 6)
    return (True, None) if ok else (None, f"invalid ipv6 cidr range: '{value}'")
