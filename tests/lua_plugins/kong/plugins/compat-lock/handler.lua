-- Test plugin: each request holds the lock "section" for `conf.hold` seconds; a request
-- finding another inside reports an overlap.  X-Lock upstream: the seconds waited,
-- or the error of lock(); X-Overlap: "yes" when two were inside at once.
local resty_lock = require "resty.lock"

local Handler = { PRIORITY = 900, VERSION = "1.0.0" }

function Handler:access(conf)
  local shm = ngx.shared.kong_locks
  local lock, err = resty_lock:new("kong_locks", { timeout = conf.timeout })
  if not lock then return kong.response.exit(500, { message = err }) end
  local waited
  waited, err = lock:lock("section")
  if not waited then
    kong.service.request.set_header("X-Lock", err)
    return
  end
  local overlap = shm:get("inside") and "yes" or "no"
  shm:set("inside", true)
  ngx.sleep(conf.hold)
  shm:delete("inside")
  local _, again = lock:lock("section")
  kong.service.request.set_header("X-Again", again)
  assert(lock:unlock() == 1)
  kong.service.request.set_header("X-Unlocked", select(2, lock:unlock()))
  kong.service.request.set_header("X-Lock", "ok")
  kong.service.request.set_header("X-Overlap", overlap)
end

return Handler
