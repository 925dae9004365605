-- moongate.getenv: `os.getenv` for trusted plugins, as nginx workers have it: the
-- value of a variable the operator declared (the nginx_main_env setting, Kong's `env`
-- directives) or TZ; nil for anything else, as nginx clears the rest of the environment.
-- The declared values are read once, when the module loads (nginx reads them at start).
local B = ...
local type, error, tostring = type, error, tostring
local values = B.declared()

return function(name)
  if type(name) == "number" then name = tostring(name) end
  if type(name) ~= "string" then
    error("bad argument #1 to 'getenv' (string expected, got " .. type(name) .. ")", 2)
  end
  return values[name]
end
