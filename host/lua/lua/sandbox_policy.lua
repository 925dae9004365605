-- The sandbox's allow-lists: what sandboxed Lua code may reach (sdk-docs/security.md).
-- Policy as data: review changes here like code; tests/host/lua/sandbox/ tries the
-- forbidden items.  Names are dotted paths into the runtime's globals; a name the
-- runtime does not have is skipped.  sandbox.lua turns the lists into environments.
return {
  -- The globals of untrusted code strings (pre-function / post-function under
  -- untrusted_lua = sandbox): Kong's `lua` environment, name for name
  -- (kong/tools/sandbox/environment/lua.lua).  The code also gets `kong` and `ngx`
  -- (read-only views), `require` (only untrusted_lua_sandbox_requires) and _G = itself.
  -- pcall, xpcall, coroutine.resume/wrap, string.find/match/gmatch/gsub/rep are the
  -- sandbox's limited versions.
  lua = [[
    _VERSION assert error ipairs next pairs pcall print select
    tonumber tostring type unpack xpcall

    bit.arshift bit.band bit.bnot bit.bor bit.bswap bit.bxor
    bit.lshift bit.rol bit.ror bit.rshift bit.tobit bit.tohex

    coroutine.create coroutine.resume coroutine.running
    coroutine.status coroutine.wrap coroutine.yield

    io.type

    jit.os jit.arch jit.version jit.version_num

    math.abs math.acos math.asin math.atan math.atan2 math.ceil
    math.cos math.cosh math.deg math.exp math.floor math.fmod
    math.frexp math.huge math.ldexp math.log math.log10 math.max
    math.min math.modf math.pi math.pow math.rad math.random
    math.sin math.sinh math.sqrt math.tan math.tanh

    os.clock os.date os.difftime os.time

    string.byte string.char string.find string.format string.gmatch
    string.gsub string.len string.lower string.match string.rep
    string.reverse string.sub string.upper

    table.clear table.clone table.concat table.foreach table.foreachi
    table.getn table.insert table.isarray table.isempty table.maxn
    table.move table.new table.nkeys table.pack table.remove
    table.sort table.unpack
  ]],

  -- What a sandboxed plugin (a whole plugin: handler.lua, schema.lua, its modules)
  -- gets on top of `lua`: class-style code needs metatables.  getmetatable and
  -- setmetatable work on tables only.
  plugin = [[
    getmetatable setmetatable rawequal rawget rawset
  ]],

  -- Modules a sandboxed plugin may require, besides its own kong.plugins.<name>.*
  -- and untrusted_lua_sandbox_requires: Kong's `lua`, `handler` and `schema` require
  -- lists (kong/tools/sandbox/require/*.lua) as far as Moongate provides the modules.
  -- Untrusted code strings may require only untrusted_lua_sandbox_requires, as in Kong.
  requires = [[
    bit string.buffer
    table.clear table.clone table.isarray table.isempty table.new table.nkeys

    cjson cjson.safe
    kong.constants kong.meta
    kong.tools.ip kong.tools.mime_type kong.tools.rand kong.tools.sha256
    kong.tools.string kong.tools.table kong.tools.time kong.tools.timestamp
    kong.tools.uuid kong.tools.yield
    kong.db.schema.typedefs kong.tools.redis.schema

    ngx.base64 ngx.re

    resty.md5 resty.random resty.redis resty.sha1 resty.sha256 resty.sha512
    resty.string resty.lrucache resty.lrucache.pureffi resty.http resty.ipmatcher
    resty.ada resty.openssl.digest resty.openssl.hmac resty.openssl.kdf resty.openssl.mac
    resty.openssl.pkey resty.openssl.rand

    pl.stringx pl.tablex socket.url
  ]],
}
