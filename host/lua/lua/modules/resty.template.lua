-- resty.template (bungle/lua-resty-template 2.0): templates compiled to Lua functions.
--
--   template.compile(view, cache_key?, plain?) -> fn(context) -> string, cached?
--   template.process(view, context, cache_key?, plain?) -> string
--   template.render(view, context, ...)  (the output goes to ngx.print)
--   template.new(view, layout?) -> object with :render(ctx), :process(ctx), tostring()
--   template.parse(view) -> the Lua source; template.escape, template.output,
--   template.caching(on?), template.cache; compile_string / process_string / ...
--
-- Tags: {{expr}} (HTML-escaped), {*expr*} (raw), {% code %}, {# comment #},
-- {(view)} / {(view, ctx)} and {[expr]} (includes), {-name-}...{-name-} (blocks),
-- {-verbatim-} / {-raw-} (copied as is); a backslash before a tag writes the tag.
-- Names in a template are looked up in the context, then in `template`, then in the
-- environment of the plugin that compiled it (what `_G` is to it under Kong).
-- Plugins have no file system here: a view is always the template text itself
-- (upstream also falls back to the text when no file has that name); asking for a file
-- explicitly (compile_file, render_file, ...) raises an error.
local _, H = ...

local type, tostring, setmetatable, load, error, assert, pairs, rawget =
  type, tostring, setmetatable, load, error, assert, pairs, rawget
local concat = table.concat
local byte, sub, find, gsub = string.byte, string.sub, string.find, string.gsub

local HTML = { ["&"] = "&amp;", ["<"] = "&lt;", [">"] = "&gt;", ['"'] = "&quot;", ["'"] = "&#39;", ["/"] = "&#47;" }
local CODE = { ["{"] = "&#123;", ["}"] = "&#125;" }
for k, v in pairs(HTML) do CODE[k] = v end

local BACKSLASH, LF = byte("\\"), byte("\n")
local BLANK = { [byte(" ")] = true, [byte("\t")] = true, [byte("\v")] = true, [0] = true }
local CLOSERS = { ["{"] = "}}", ["*"] = "*}", ["%"] = "%}", ["("] = ")}", ["["] = "]}", ["-"] = "-}", ["#"] = "#}" }

local template = { _VERSION = "2.0", cache = {} }
local caching = true

local function trim(s) return (gsub(gsub(s, "^%s+", ""), "%s+$", "")) end

-- the end of the text before a {% %} or block tag, its trailing blanks left out
local function before_blanks(view, pos)
  while pos > 0 and BLANK[byte(view, pos)] do pos = pos - 1 end
  return pos
end

-- is the tag at `pos` written out literally (one backslash before it); the number of
-- backslashes to drop from the text before it
local function escaped(view, pos)
  if pos > 1 and byte(view, pos - 1) == BACKSLASH then
    if pos > 2 and byte(view, pos - 2) == BACKSLASH then return false, 1 end
    return true, 1
  end
  return false, 0
end

function template.output(s)
  if s == nil or s == H.null then return "" end
  if type(s) == "function" then return template.output(s()) end
  return tostring(s)
end

function template.escape(s, code)
  if type(s) == "string" then
    if code then return (gsub(s, "[}{\">/<'&]", CODE)) end
    return (gsub(s, "[\">/<'&]", HTML))
  end
  return template.output(s)
end

function template.caching(enable)
  if enable ~= nil then caching = enable == true end
  return caching
end

template.print = function(s) return H.ngx.print(s) end

function template.load(view, plain)
  if plain == false then
    error("resty.template: template files are not available to plugins in Moongate; pass the template text", 0)
  end
  return view
end

-- the Lua source of a view
function template.parse(view, plain)
  assert(view, "view was not provided for template.parse(view, plain)")
  view = template.load(view, plain)
  local out = {
    "context = ... or {}\n",
    "local ___, blocks, layout = {}, blocks or {}\n",
    "local function include(v, c) return template.process(v, c or context) end\n",
    "local function echo(...) for i = 1, select('#', ...) do ___[#___ + 1] = tostring(select(i, ...)) end end\n",
  }
  local function text(s)
    if s ~= "" then out[#out + 1] = "___[#___ + 1] = [=[\n" .. s .. "]=]\n" end
  end
  local from = 1 -- start of the text not yet written
  local at = find(view, "{", 1, true)
  while at do
    local kind = sub(view, at + 1, at + 1)
    local closer = CLOSERS[kind]
    local stop = closer and find(view, closer, at + 2, true)
    if stop then
      local literal, drop = escaped(view, at)
      local inner = sub(view, at + 2, stop - 1)
      local next_at = at + 1
      if kind == "-" then
        local tag = sub(view, at, stop + 1)
        local close_at = find(view, tag, stop + 2, true)
        if close_at and not literal then
          text(sub(view, from, at - 1 - drop))
          local name = trim(inner)
          local body_end, after = close_at - 1, close_at + #tag
          if byte(view, after) == LF then after = after + 1 end
          if name == "verbatim" or name == "raw" then
            out[#out + 1] = "___[#___ + 1] = [=[" .. sub(view, stop + 2, body_end) .. "]=]\n"
          else
            if byte(view, body_end) == LF then body_end = body_end - 1 end
            out[#out + 1] = 'blocks["' .. name .. '"] = include[=[' .. sub(view, stop + 2, body_end) .. "]=]\n"
          end
          from, next_at = after, after
        elseif close_at then
          text(sub(view, from, at - 1 - drop))
          from = at
        end
      elseif literal then
        text(sub(view, from, at - 1 - drop))
        from = at
      elseif kind == "%" then
        text(sub(view, from, before_blanks(view, at - 1)))
        out[#out + 1] = trim(inner) .. "\n"
        local after = stop + 2
        if byte(view, after) == LF then after = after + 1 end
        from, next_at = after, after
      elseif kind == "#" then
        text(sub(view, from, at - 1 - drop))
        local after = stop + 2
        if byte(view, after) == LF then after = after + 1 end
        from, next_at = after, after
      else
        text(sub(view, from, at - 1 - drop))
        local code = trim(inner)
        if kind == "{" then
          out[#out + 1] = "___[#___ + 1] = template.escape(" .. code .. ")\n"
        elseif kind == "*" then
          out[#out + 1] = "___[#___ + 1] = template.output(" .. code .. ")\n"
        elseif kind == "[" then
          out[#out + 1] = "___[#___ + 1] = include(" .. code .. ")\n"
        else -- "(": a view name, then optionally a context expression
          local comma = find(inner, ",", 2, true)
          if comma then
            out[#out + 1] = "___[#___ + 1] = include([=[" .. trim(sub(inner, 1, comma - 1)) .. "]=], "
              .. trim(sub(inner, comma + 1)) .. ")\n"
          else
            out[#out + 1] = "___[#___ + 1] = include([=[" .. code .. "]=])\n"
          end
        end
        from, next_at = stop + 2, stop + 2
      end
      at = find(view, "{", next_at, true)
    else
      at = find(view, "{", at + 1, true)
    end
  end
  text(sub(view, from))
  out[#out + 1] = "return layout and include(layout, setmetatable({ view = table.concat(___), blocks = blocks }, "
    .. "{ __index = context })) or table.concat(___)"
  return concat(out)
end

-- names: the context, then template, then the compiling plugin's globals
local function view_env()
  local globals = H.env_for(H.current_plugin() or "resty.template")
  return setmetatable({ template = template }, {
    __index = function(t, k)
      local context = rawget(t, "context")
      local v = context and context[k]
      if v == nil then v = template[k] end
      if v == nil then v = globals[k] end
      return v
    end,
  })
end

function template.compile(view, cache_key, plain)
  assert(view, "view was not provided for template.compile(view, cache_key, plain)")
  local key = cache_key or view
  if cache_key ~= "no-cache" and template.cache[key] then return template.cache[key], true end
  local fn = assert(load(template.parse(view, plain), "=resty.template", "t", view_env()))
  if caching and cache_key ~= "no-cache" then template.cache[key] = fn end
  return fn, false
end

function template.process(view, context, cache_key, plain)
  assert(view, "view was not provided for template.process(view, context, cache_key, plain)")
  return template.compile(view, cache_key, plain)(context)
end

function template.render(view, context, cache_key, plain)
  assert(view, "view was not provided for template.render(view, context, cache_key, plain)")
  template.print(template.process(view, context, cache_key, plain))
end

for _, suffix in pairs({ "string", "file" }) do
  local plain = suffix == "string"
  template["compile_" .. suffix] = function(view, cache_key) return template.compile(view, cache_key, plain) end
  template["process_" .. suffix] = function(view, context, cache_key) return template.process(view, context, cache_key, plain) end
  template["render_" .. suffix] = function(view, context, cache_key) return template.render(view, context, cache_key, plain) end
  template["parse_" .. suffix] = function(view) return template.parse(view, plain) end
end

function template.new(view, layout)
  local function process(self, context)
    context = context or self
    if layout then
      context.blocks = context.blocks or {}
      context.view = function(ctx) return template.process(view, ctx or context) end
      return template.process(layout, context)
    end
    return template.process(view, context)
  end
  return setmetatable({
    process = process,
    render = function(self, context) template.print(process(self, context)) end,
  }, { __tostring = process })
end

return template
