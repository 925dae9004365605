"""The sandbox policy (``host/lua/lua/sandbox_policy.lua``) is what sandboxed code gets:
no more, and each forbidden item is tried.

Untrusted code strings get Kong's ``lua`` environment name for name (plus ``kong``,
``ngx``, ``require``, ``_G``); sandboxed plugins get that plus a few metatable and raw
functions.  Everything else of the runtime is out of reach.
"""

from __future__ import annotations

from typing import Any

import pytest

from host.lua.sandbox import SandboxedHost

#: names in Kong's list that LuaJIT does not have (table.pack/unpack are Lua 5.2)
ABSENT = {"table.pack", "table.unpack"}

FORBIDDEN = [
    "getmetatable",
    "setmetatable",
    "rawget",
    "rawset",
    "rawequal",
    "load",
    "loadstring",
    "loadfile",
    "dofile",
    "collectgarbage",
    "getfenv",
    "setfenv",
    "newproxy",
    "module",
    "package",
    "debug",
    "python",
    "gcinfo",
    "ffi",
    "jit.off",
    "jit.flush",
    "jit.util",
    "jit.opt",
    "io.open",
    "io.popen",
    "io.lines",
    "io.write",
    "io.read",
    "os.execute",
    "os.getenv",
    "os.exit",
    "os.remove",
    "os.rename",
    "os.tmpname",
    "string.dump",
    "coroutine.isyieldable",
    "math.randomseed",
]


@pytest.fixture(scope="module")
def host() -> SandboxedHost:
    return SandboxedHost()


def untrusted(host: SandboxedHost, code: str) -> Any:
    fn = host.H.compile_untrusted(b"pre-function", code.encode())
    return host.to_python(fn())


def policy_names(host: SandboxedHost, list_name: str) -> set[str]:
    policy = host.runtime.eval("load")(
        (__import__("host.lua.runtime", fromlist=["LUA_DIR"]).LUA_DIR / "sandbox_policy.lua").read_bytes()
    )()
    return set(policy[list_name.encode()].decode().split())


ENUMERATE = """
  local names = {}
  for k, v in pairs(_G) do
    if type(v) == "table" and k ~= "_G" and k ~= "kong" and k ~= "ngx" then
      for f in pairs(v) do names[#names + 1] = k .. "." .. f end
    else
      names[#names + 1] = k
    end
  end
  table.sort(names)
  return names
"""


def test_code_strings_get_exactly_kongs_lua_environment(host: SandboxedHost) -> None:
    expected = policy_names(host, "lua") - ABSENT | {"kong", "ngx", "require", "_G"}
    assert set(untrusted(host, ENUMERATE)) == expected


def test_sandboxed_plugins_get_the_plugin_list_too(host: SandboxedHost) -> None:
    fn = host.compile_in("policy-probe", ENUMERATE)
    expected = (policy_names(host, "lua") | policy_names(host, "plugin")) - ABSENT | {
        "kong",
        "ngx",
        "require",
        "_G",
    }
    assert set(host.to_python(fn())) == expected


@pytest.mark.parametrize("name", FORBIDDEN)
def test_forbidden_item_is_unreachable(host: SandboxedHost, name: str) -> None:
    path = " and ".join(".".join(name.split(".")[: i + 1]) for i in range(len(name.split("."))))
    assert untrusted(host, f"return type({path})") == "nil"


@pytest.mark.parametrize(
    "probe",
    [
        "return _G == getfenv",  # _G is the environment itself (getfenv is nil)
        "return ('').dump",
        "return (pcall(function() return ('x'):rep(2^25) end))",  # methods are the limited ones too
    ],
)
def test_indirect_paths_are_closed(host: SandboxedHost, probe: str) -> None:
    assert untrusted(host, probe) in (None, False)


def test_require_is_denied_with_kongs_message(host: SandboxedHost) -> None:
    fn = host.H.compile_untrusted(b"pre-function", b"return pcall(require, 'cjson')")
    ok, message = fn()
    assert ok is False
    assert message.decode().endswith("require 'cjson' not allowed within sandbox")


def test_library_tables_are_per_code_string(host: SandboxedHost) -> None:
    untrusted(host, "string.upper = nil math.floor = nil")
    assert untrusted(host, "return string.upper('a') .. math.floor(1.5)") == "A1"
