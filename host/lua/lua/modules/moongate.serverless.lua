-- The serverless functions plugins (pre-function, post-function): handler and schema.
--
-- Each config holds, per phase (certificate, rewrite, access, header_filter,
-- body_filter, log), an array of Lua code strings.  They are compiled once per config
-- (the config table is the cache key, weakly held) on its first use, as the
-- `untrusted_lua` setting says (H.compile_untrusted: `sandbox` in the plugin's
-- sandboxed runtime, `on` over the plugin's own environment, `off` refused), and run
-- in order.  Kong's semantics: the first run of a code string runs the chunk; when it
-- returns a function, that function is what runs from then on (it is also run right
-- away, the chunk having only set it up).  A first run that ended the request early
-- (kong.response.exit) leaves the chunk in place: it runs again next time.
--
-- The schema checks each string the way Kong does (compiled, never run), and refuses
-- every string when untrusted_lua = off.
local _, H = ...

local type, ipairs, setmetatable, error, tostring, load = type, ipairs, setmetatable, error, tostring, load
local byte = string.byte

local PHASES = { "certificate", "rewrite", "access", "header_filter", "body_filter", "log" }

local function no_op() end

-- the functions of one phase of one config: one closure that runs them all
local function compile_phase(plugin, codes)
  if type(codes) ~= "table" or #codes == 0 then return no_op end
  local compiled = {}
  for i, code in ipairs(codes) do
    local chunk, err = H.compile_untrusted(plugin, code)
    if not chunk then error(err, 0) end
    local started = false
    compiled[i] = function()
      local fn = chunk
      if started then -- an earlier first run ended early: the chunk is the function
        compiled[i] = fn
        return fn()
      end
      started = true
      local result = fn()
      if type(result) == "function" then
        chunk = result
        compiled[i] = result
        result()
      end
      compiled[i] = chunk
    end
  end
  local n = #compiled
  return function()
    for i = 1, n do compiled[i]() end
  end
end

local M = {}

--- The handler table of plugin `plugin_name` with Kong's PRIORITY `priority`.
function M.handler(plugin_name, priority)
  local cache = setmetatable({}, {
    __mode = "k",
    __index = function(self, conf)
      local phases = {}
      for _, phase in ipairs(PHASES) do
        phases[phase] = compile_phase(plugin_name, conf[phase])
      end
      self[conf] = phases
      return phases
    end,
  })

  local Handler = {
    PRIORITY = priority,
    VERSION = H.require("kong.meta").version,
  }
  for _, phase in ipairs(PHASES) do
    Handler[phase] = function(_, conf)
      return cache[conf][phase]()
    end
  end
  return Handler
end

--- Kong's check of one code string: it must compile (it is not run).
local function validator(plugin_name)
  return function(code)
    if H.untrusted_lua == "off" then
      return false, H.UNTRUSTED_OFF
    end
    if type(code) == "string" and byte(code, 1) == 27 then
      return false, "error parsing " .. plugin_name .. ": attempt to load chunk with wrong mode"
    end
    local fn, err = load(code, nil, "t", {})
    if not fn then
      return false, "error parsing " .. plugin_name .. ": " .. tostring(err)
    end
    return true
  end
end

--- The schema of plugin `plugin_name` (Kong 3.x: one array of code strings per phase).
function M.schema(plugin_name)
  local Schema = H.require("kong.db.schema")
  local typedefs = H.require("kong.db.schema.typedefs")
  local phase_functions = Schema.define {
    required = true,
    default = {},
    description = "Lua code strings run in order in this phase; one may `return function(...)` "
      .. "to set up state once (compiled once per configuration).",
    type = "array",
    elements = {
      type = "string",
      required = false,
      custom_validator = validator(plugin_name),
    },
  }
  local fields = {}
  for i, phase in ipairs(PHASES) do fields[i] = { [phase] = phase_functions } end
  return {
    name = plugin_name,
    fields = {
      { consumer = typedefs.no_consumer },
      { protocols = typedefs.protocols },
      { config = { type = "record", fields = fields } },
    },
    entity_checks = {
      { at_least_one_of = {
        "config.certificate", "config.rewrite", "config.access",
        "config.header_filter", "config.body_filter", "config.log",
      } },
    },
  }
end

return M
