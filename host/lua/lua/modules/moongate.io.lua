-- The `io` of trusted plugins: reading files (key and secret files plugins are
-- configured with; upstream-basic-auth-encrypted's schema reads one with io.open).
-- `io.open(path, mode?)` opens for reading only ("r", "rb"); a mode that writes or
-- appends answers nil, "<path>: plugins cannot change files in Moongate", as pl.file's
-- writers do.  `io.lines(path)`, `io.type`, `io.close(file)`.  No stdin/stdout,
-- popen or tmpfile.  Sandboxed plugins get Kong's sandbox `io` (io.type only).
local real_open, real_lines, real_type = io.open, io.lines, io.type
local type, error, find = type, error, string.find

local M = {}

function M.open(path, mode)
  if type(path) ~= "string" then
    error("bad argument #1 to 'open' (string expected, got " .. type(path) .. ")", 2)
  end
  mode = mode or "r"
  if type(mode) ~= "string" or find(mode, "[wa+]") then
    return nil, path .. ": plugins cannot change files in Moongate", 13
  end
  return real_open(path, mode)
end

function M.lines(path, ...)
  if type(path) ~= "string" then
    error("bad argument #1 to 'lines' (a file name is required: plugins have no stdin)", 2)
  end
  return real_lines(path, ...)
end

M.type = real_type

function M.close(file)
  if file == nil then error("bad argument #1 to 'close' (plugins have no default output file)", 2) end
  return file:close()
end

return M
