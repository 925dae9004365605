-- ltn12 (LuaSocket's "Lua Technical Note 12"): sources, sinks, filters and pumps, as
-- plugins pass them to socket.http (`sink = ltn12.sink.table(chunks)`).
--   source: a function returning the next chunk, nil at the end, or nil, err
--   sink:   a function called with (chunk, err); nil chunk = end; returns 1 or nil, err
--   filter: a function chunk -> transformed chunk ("" when it has nothing yet)
-- Files are not provided (plugins have no file system): source.file / sink.file
-- return sources and sinks that fail with an error.
local type, select, error, tostring = type, select, error, tostring
local insert, concat = table.insert, table.concat
local sub = string.sub

local _M = { _VERSION = "LTN12 1.0.3", BLOCKSIZE = 2048 }
local filter, source, sink, pump = {}, {}, {}, {}
_M.filter, _M.source, _M.sink, _M.pump = filter, source, sink, pump

--- A filter that keeps a context: f(ctx, chunk) -> result, new ctx.
function filter.cycle(low, ctx, extra)
  return function(chunk)
    local ret
    ret, ctx = low(ctx, chunk, extra)
    return ret
  end
end

--- Filters applied in order, as one filter.
function filter.chain(...)
  local filters = { ... }
  return function(chunk)
    for i = 1, #filters do
      chunk = filters[i](chunk)
    end
    return chunk
  end
end

function source.empty()
  return function() return nil end
end

function source.error(err)
  return function() return nil, err end
end

function source.file(_, err)
  return source.error(err or "ltn12: files are not available in Moongate")
end

--- Chunks of `s`, BLOCKSIZE bytes each.
function source.string(s)
  if not s then return source.empty() end
  local i = 1
  return function()
    local chunk = sub(s, i, i + _M.BLOCKSIZE - 1)
    i = i + _M.BLOCKSIZE
    if chunk ~= "" then return chunk end
    return nil
  end
end

--- Skip the empty chunks a source returns.
function source.simplify(src)
  return function()
    local chunk, err = src()
    while chunk == "" do chunk, err = src() end
    return chunk, err
  end
end

--- A source that can be given chunks back: src(), or rewound(chunk) to push one.
function source.rewind(src)
  local pushed = {}
  return function(chunk)
    if chunk ~= nil then
      insert(pushed, chunk)
      return
    end
    local n = #pushed
    if n > 0 then
      local c = pushed[n]
      pushed[n] = nil
      return c
    end
    return src()
  end
end

--- The source's chunks passed through filter `f` (and its flush at the end).
function source.chain(src, f, ...)
  if select("#", ...) > 0 then f = filter.chain(f, ...) end
  local done = false
  return function()
    if done then return nil end
    local chunk, err = src()
    if err then return nil, err end
    if chunk == nil then
      done = true
      local last = f(nil)
      if last == "" then return nil end
      return last
    end
    return f(chunk)
  end
end

--- The chunks of several sources, one after the other.
function source.cat(...)
  local sources, i = { ... }, 1
  return function()
    while sources[i] do
      local chunk, err = sources[i]()
      if chunk then return chunk end
      if err then return nil, err end
      i = i + 1
    end
    return nil
  end
end

--- A sink that appends every chunk to table `t` (a new one if none); returns sink, t.
function sink.table(t)
  t = t or {}
  return function(chunk, err)
    if chunk then insert(t, chunk) end
    return 1
  end, t
end

function sink.null()
  return function() return 1 end
end

function sink.error(err)
  return function() return nil, err end
end

function sink.file(_, err)
  return sink.error(err or "ltn12: files are not available in Moongate")
end

--- Call the sink only for non-empty chunks (and the final nil).
function sink.simplify(snk)
  return function(chunk, err)
    if chunk == "" then return 1 end
    return snk(chunk, err)
  end
end

--- Chunks passed through filter `f` before reaching the sink; the filter is drained
--- with "" (or nil at the end) until it has nothing more.
function sink.chain(f, snk, ...)
  if select("#", ...) > 0 then
    local rest = { snk, ... }
    snk = rest[#rest]
    rest[#rest] = nil
    f = filter.chain(f, unpack(rest))
  end
  return function(chunk, err)
    if chunk == "" then return 1 end
    local last = chunk and "" or nil
    local filtered = f(chunk)
    while true do
      local ok, e = snk(filtered, err)
      if not ok then return nil, e end
      if filtered == last then return 1 end
      filtered = f(last)
    end
  end
end

--- Move one chunk from source to sink: true, or nil, err.
function pump.step(src, snk)
  local chunk, src_err = src()
  local ok, snk_err = snk(chunk, src_err)
  if chunk and ok then return 1 end
  return nil, src_err or snk_err
end

--- Move every chunk: 1 when the source ended cleanly, else nil, err.
function pump.all(src, snk, step)
  step = step or pump.step
  while true do
    local ok, err = step(src, snk)
    if not ok then
      if err then return nil, err end
      return 1
    end
  end
end

--- Everything a source yields, as one string (a Moongate helper for socket.http).
function _M.drain(src)
  if type(src) ~= "function" then error("ltn12: source expected, got " .. tostring(src), 2) end
  local parts = {}
  local ok, err = pump.all(src, (sink.table(parts)))
  if not ok then return nil, err end
  return concat(parts)
end

return _M
