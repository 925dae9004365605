-- pl.template (Penlight): text templates with embedded Lua.
--   ct, err = template.compile(str, opts)   -> compiled template (nil, err, code on a syntax error)
--   out, err = ct:render(env?, parent?)       -> the text (nil, err on a runtime error)
--   out, err = template.substitute(str, env)  -> compile + render in one call
-- Rules, as Penlight's: a line starting with the escape character (`#`, opts.escape) is
-- Lua code; elsewhere `$(expr)` (opts.inline_escape, opts.inline_brackets) is replaced
-- by tostring(expr), or "" when expr is nil or false.  opts.newline drops the newlines
-- of the text, opts.chunk_name names the chunk in error messages ("TMP"), opts.debug
-- keeps the generated code in ct.code.  substitute reads the options from env._escape,
-- env._inline_escape, env._brackets, env._chunk_name, env._debug, env._parent.
-- Kong's request-transformer compiles its values with { escape = "\xff" } (no code lines)
-- and renders them with a per-request environment.
--
-- The generated code is loaded in text mode with the template's own environment (a
-- table whose misses go to the render env), so it sees only what the caller passes.
-- A runtime error is returned as its message (Penlight adds a traceback).
local tostring, setmetatable, rawget, xpcall, load = tostring, setmetatable, rawget, xpcall, load
local format, find, sub, gsub, rep = string.format, string.find, string.sub, string.gsub, string.rep
local concat = table.concat

local _M = {}

-- a literal string as a Lua pattern
local function literal(s)
  return (gsub(s, "[%^%$%(%)%%%.%[%]%*%+%-%?]", "%%%0"))
end

local OPEN = "return function() local __tpl_n, __tpl_out, __tpl_str = 0, {}, __tostring; "
local ADD = " __tpl_n = __tpl_n + 1; __tpl_out[__tpl_n] = "

-- Append the code for a piece of text (with its inline expressions) to `code`.
local function add_text(code, text, inline_pattern, newline)
  local pos = 1
  for start, expr, stop in text:gmatch(inline_pattern) do
    code[#code + 1] = ADD .. format("%q;", sub(text, pos, start - 1))
    code[#code + 1] = ADD .. "__tpl_str((" .. sub(expr, 2, -2) .. ") or '');"
    pos = stop
  end
  local rest, dropped = sub(text, pos), 0
  if newline then rest, dropped = gsub(rest, "\n", "") end
  if rest ~= "" then code[#code + 1] = ADD .. format("%q;", rest) end
  if dropped > 0 then code[#code + 1] = rep("\n", dropped) end  -- keep line numbers
end

-- The Lua source of a template; `constant` when it is plain text.
local function generate(str, escape, inline, brackets, newline)
  local inline_pattern = "()" .. literal(inline) .. "(%b" .. brackets .. ")()"
  local code_line = literal(escape) .. "+([^\n]*\n?)"
  local at_start, after_newline = "^" .. code_line, "\n" .. code_line
  local code = { OPEN }
  local pos = 1
  while true do
    local _, stop, lua = find(str, at_start, pos)
    if not stop then
      local nl
      nl, stop, lua = find(str, after_newline, pos)
      -- the text up to the code line keeps its newline
      add_text(code, sub(str, pos, nl), inline_pattern, newline)
      if not stop then break end
    end
    if sub(lua, -1) ~= "\n" then lua = lua .. "\n" end
    code[#code + 1] = lua
    pos = stop + 1
  end
  code[#code + 1] = "return __tpl_out; end"
  if #code == 3 and find(code[2], ADD, 1, true) == 1 then
    return "return " .. sub(code[2], #ADD + 1), true
  end
  return concat(code), false
end

local function render(self, env, parent, _debug)
  env = env or {}
  if parent then setmetatable(env, { __index = parent }) end
  setmetatable(self.env, { __index = env })
  local ok, out = xpcall(self.fn, tostring)
  if not ok then return nil, out, self.code end
  return concat(out), nil, self.code
end

function _M.compile(str, opts)
  opts = opts or {}
  local brackets = opts.inline_brackets or "()"
  local src, constant = generate(str, opts.escape or "#", opts.inline_escape or "$", brackets,
                                 opts.newline)
  local env = { __tostring = tostring }
  local chunk, err = load(src, opts.chunk_name or "TMP", "t", env)
  if not chunk then return nil, err, src end
  local code = opts.debug and src or nil
  if constant then
    local text = chunk()
    return { fn = chunk, env = env, code = code,
             render = function(self) return text, nil, self.code end }
  end
  return { fn = chunk(), env = env, code = code, render = render }
end

function _M.substitute(str, env)
  env = env or {}
  local ct, err = _M.compile(str, {
    chunk_name = rawget(env, "_chunk_name"),
    escape = rawget(env, "_escape"),
    inline_escape = rawget(env, "_inline_escape"),
    inline_brackets = rawget(env, "_brackets"),
    newline = false,
    debug = rawget(env, "_debug"),
  })
  if not ct then return nil, err end
  return ct:render(env, rawget(env, "_parent"), rawget(env, "_debug"))
end

return _M
