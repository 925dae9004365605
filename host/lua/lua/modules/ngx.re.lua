-- The `ngx.re` module of lua-resty-core: split() and opt(), on the same compiled-pattern
-- cache as ngx.re.match (moongate.ngx_re.lua, shared through H.ngx_re).
--
-- split(subj, regex, opts?, ctx?, max?, res?) follows OpenResty's rules: the first
-- capture group, when the pattern has one, is inserted between the pieces; without
-- `max`, empty trailing pieces are dropped; ctx.pos is where splitting starts (1-based)
-- and is left where the last search ended, as OpenResty leaves it.
local _, H = ...
H.require("moongate.ngx_re")
local R = H.ngx_re
local compile, refresh, step, py_exec = R.compile, R.refresh, R.step, R.exec

local type, tostring, error = type, tostring, error
local sub = string.sub

local _M = { version = "0.1.28" }

local split_ctx = {}

-- one search for split: from, to (1-based, to exclusive) and the first capture, or
-- nil (no match), or nil, nil, nil, err
local function search(entry, subj, ctx)
  local pos = ctx.pos
  if pos < 0 then pos = 0 end
  if pos > #subj then return nil end
  local s0, e0, _, c1 = py_exec(entry.id, subj, pos)
  if s0 == false then
    refresh(entry)
    s0, e0, _, c1 = py_exec(entry.id, subj, pos)
  end
  if s0 == nil then return nil end
  if type(s0) == "string" then return nil, nil, nil, s0 end
  ctx.pos = (s0 == e0) and step(entry, subj, e0) or e0
  local capture
  if entry.ncap > 0 then
    capture = c1
    if not capture then
      -- OpenResty reads group 1's offsets even when it is unset while a later group is
      -- set, which yields the whole subject; with no group set there is no capture
      local all = { py_exec(entry.id, subj, pos) }
      for i = 5, #all do
        if all[i] then capture = subj break end
      end
    end
    if capture == false then capture = nil end
  end
  return s0 + 1, e0 + 1, capture
end

function _M.split(subj, regex, opts, ctx, max, res)
  subj = tostring(subj)
  if not ctx then
    ctx = split_ctx
    ctx.pos = 1
  elseif not ctx.pos then
    ctx.pos = 1
  end
  max = max or 0
  if not res then
    res = {}
  elseif type(res) ~= "table" then
    error("res is not a table", 2)
  end

  local len = #subj
  if ctx.pos > len then
    res[1] = nil
    return res
  end

  local entry, err = compile(regex, opts)
  if not entry then return nil, err end

  local piece_start = ctx.pos     -- where the next piece begins (1-based)
  local n = 0
  local last_empty               -- position of the last empty match
  local pieces = 1
  ctx.pos = piece_start - 1       -- 0-based from here, as OpenResty keeps it
  while max <= 0 or pieces < max do
    local from, to, capture, serr = search(entry, subj, ctx)
    if serr then return nil, serr end
    if not from then break end
    if last_empty then piece_start = last_empty end
    if from == to then last_empty = from end
    if from > piece_start or not last_empty then
      pieces = pieces + 1
      n = n + 1
      res[n] = sub(subj, piece_start, from - 1)
      if capture then
        n = n + 1
        res[n] = capture
      end
      piece_start = to
      if piece_start > len then break end
    end
  end

  if max <= 0 and piece_start > len then
    -- drop empty trailing pieces
    for i = n, 1, -1 do
      if res[i] ~= "" then
        n = i
        break
      end
      res[i] = nil
    end
  else
    n = n + 1
    res[n] = sub(subj, piece_start)
  end
  res[n + 1] = nil
  return res
end

function _M.opt(option, value)
  if option == "jit_stack_size" then
    if type(value) ~= "number" then
      error("bad argument #2 to 'opt' (number expected, got " .. type(value) .. ")", 2)
    end
    return
  end
  error("unrecognized option name", 2)
end

return _M
