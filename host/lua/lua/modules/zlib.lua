-- zlib: lua-zlib's API (brimworks) over Python's zlib, for plugins that compress what
-- they send (Moesif deflates its event batches) or read compressed bodies.
--   zlib.deflate([level [, window]]) -> stream; stream(input [, "sync"|"full"|"finish"])
--     -> output, eof, bytes_in, bytes_out     (window 8..15 zlib, +16 gzip, negative raw)
--   zlib.inflate([window]) -> stream; stream(input) -> output, eof, bytes_in, bytes_out
--     (default window: zlib or gzip, detected from the header)
--   zlib.crc32() / zlib.adler32() -> a function `sum(data)` returning the running checksum;
--   zlib.crc32(value, data) / zlib.adler32(value, data) -> the updated checksum (lzlib's form)
--   zlib.version() -> major, minor, patch
-- A stream that meets bad data raises an error, as lua-zlib does.
local B = ...
local type, error, tostring, tonumber = type, error, tostring, tonumber
local match = string.match
local new_deflate, new_inflate, step = B.new_deflate, B.new_inflate, B.step
local py_crc32, py_adler32 = B.crc32, B.adler32

local zlib = { _VERSION = "lua-zlib 1.2 (Moongate)" }

-- a stream function over the Python state `id` (dropped there when the stream ends; no
-- __gc: a finalizer calling Python while the runtime closes is not safe)
local function stream_function(id, kind)
  return function(input, flush)
    if input ~= nil and type(input) ~= "string" then
      error("bad argument #1 to '" .. kind .. "' (string expected, got " .. type(input) .. ")", 2)
    end
    local out, eof, bytes_in, bytes_out = step(id, input, flush)
    if out == nil then error(kind .. ": " .. tostring(eof), 2) end
    return out, eof, bytes_in, bytes_out
  end
end

function zlib.deflate(level, window)
  local id, err = new_deflate(level, window)
  if id == nil then error(err, 2) end
  return stream_function(id, "deflate")
end

function zlib.inflate(window)
  local id, err = new_inflate(window)
  if id == nil then error(err, 2) end
  return stream_function(id, "inflate")
end

local function checksum(py_sum, initial)
  return function(value, data)
    if value == nil then
      local current = initial
      return function(more)
        if type(more) ~= "string" then
          error("bad argument #1 (string expected, got " .. type(more) .. "): combining "
            .. "checksum functions is not supported", 2)
        end
        current = py_sum(current, more)
        return current
      end
    end
    if data == nil then return tonumber(value) end
    return py_sum(value, data)
  end
end
zlib.crc32 = checksum(py_crc32, 0)
zlib.adler32 = checksum(py_adler32, 1)

function zlib.version()
  local major, minor, patch = match(B.version(), "^(%d+)%.(%d+)%.?(%d*)")
  return tonumber(major), tonumber(minor), tonumber(patch) or 0
end

return zlib
