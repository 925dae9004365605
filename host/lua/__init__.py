"""The Lua plugin host: Kong plugins (handler.lua + schema.lua) in embedded LuaJIT."""
