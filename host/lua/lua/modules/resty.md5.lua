-- resty.md5 (lua-resty-string): local h = resty_md5:new(); h:update(s); h:final() ->
-- binary digest; h:reset().  Built by resty.string's H.resty_hash.
local _, H = ...
H.require("resty.string")
return H.resty_hash("md5")
