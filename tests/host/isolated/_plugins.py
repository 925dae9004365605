"""Plugins the isolated tests run in worker processes (written into a temporary dir)."""

from __future__ import annotations

from pathlib import Path

LUA_HANDLER = """
local P = { PRIORITY = 1000, VERSION = "1.0.0" }

function P:access(conf)
  local q = kong.request.get_query_arg("do")
  kong.log.notice("isolated access ", q or "-")
  kong.service.request.set_header("x-iso", conf.greeting)
  kong.service.request.clear_header("x-drop")
  kong.ctx.shared.iso = { n = 1, ua = kong.request.get_header("user-agent") }
  kong.ctx.plugin.seen = "access"
  if q == "exit" then return kong.response.exit(418, { message = "teapot" }, { ["x-exit"] = "1" }) end
  if q == "loop" then while true do end end
  if q == "sleep" then ngx.sleep(1000) end
  if q == "segv" then local function f() return coroutine.wrap(f)() end f() end
  if q == "error" then error("secret lua detail") end
  if q == "bomb" then local t = {} for i = 1, 64 do t[i] = string.rep("x", 2^30 + i) end end
  if q == "body" then kong.service.request.set_header("x-body", kong.request.get_raw_body()) end
  if q == "path" then kong.service.request.set_path("/rewritten") end
  if q == "pid" then kong.response.set_header("x-worker-pid", ngx.worker.pid()) end
end

function P:header_filter(conf)
  kong.response.set_header("x-seen", tostring(kong.ctx.shared.iso and kong.ctx.shared.iso.n))
  kong.response.set_header("x-plugin-ctx", tostring(kong.ctx.plugin.seen))
  kong.response.set_header("x-from-python", tostring(kong.ctx.shared.from_python))
end

return P
"""

LUA_SCHEMA = """
return { name = "iso-lua", fields = { { config = { type = "record", fields = {
  { greeting = { type = "string", default = "hi" } } } } } } }
"""

PY_PLUGIN = '''
"""A Python plugin that misbehaves on request (run isolated)."""
import ctypes
import os
import signal
import time

PRIORITY = 900
VERSION = "1.0.0"
SCHEMA = [{"tag": {"type": "string", "default": "py"}}]


def access(kong, conf):
    what = kong.request.get_query_arg("py")
    if what == "segv":
        os.kill(os.getpid(), signal.SIGSEGV)
    if what == "ctypes":
        ctypes.string_at(0)
    if what == "exit":
        os._exit(0)
    if what == "garbage":
        for fd in _sockets():
            os.write(fd, b"\\xff" * 64)
        time.sleep(5)
    if what == "sleep":
        time.sleep(3600)
    if what == "bomb":
        hoard = []
        while True:
            hoard.append(bytes(128 << 20))  # address space: RLIMIT_AS ends it
    kong.service.request.set_header("x-py", conf["tag"] + ":" + str(os.getpid()))
'''

PY_CHANNEL = '''

def _sockets():
    """The worker's sockets (its channel to the gateway among them)."""
    found = []
    for name in os.listdir("/proc/self/fd"):
        try:
            if os.readlink(f"/proc/self/fd/{name}").startswith("socket:"):
                found.append(int(name))
        except OSError:
            continue
    return found
'''


def write_plugins(root: Path) -> tuple[Path, Path]:
    """(Lua plugins dir, Python plugins dir)."""
    lua = root / "lua" / "iso-lua"
    lua.mkdir(parents=True)
    (lua / "handler.lua").write_text(LUA_HANDLER)
    (lua / "schema.lua").write_text(LUA_SCHEMA)
    py = root / "py"
    py.mkdir()
    (py / "iso_py.py").write_text(PY_PLUGIN + PY_CHANNEL)
    return root / "lua", py


def children(pid: int) -> list[int]:
    """The running direct children of ``pid`` (from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == pid and fields[0] != "Z":
            found.append(int(entry.name))
    return sorted(found)
