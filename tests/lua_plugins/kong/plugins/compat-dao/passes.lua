-- The custom DAO of compat_dao_passes: methods Kong mixes into the entity's DAO.
-- They reach the generic DAO through `self.super` and build errors with `self.errors`.
local _M = {}

--- The first pass of a consumer (consumer is a foreign key, not unique).
function _M:select_by_consumer(consumer_id)
  local rows, err = self.super.page_for_consumer(self, { id = consumer_id }, 1)
  if err then
    return nil, err
  end
  return rows[1]
end

--- How many passes a consumer has (each_for_<fk> of the generic DAO).
function _M:count_for_consumer(consumer_id)
  local n = 0
  for _, err in self.super.each_for_consumer(self, { id = consumer_id }) do
    if err then
      return nil, err
    end
    n = n + 1
  end
  return n
end

--- Cache keys by consumer id, whatever the caller hands in.
function _M:cache_key(key)
  if type(key) == "table" then
    key = key.consumer and key.consumer.id or ""
  end
  return self.super.cache_key(self, key)
end

--- select, but a missing pass is an error (not_found) instead of nil.
function _M:select(pk, options)
  local row, err, err_t = self.super.select(self, pk, options)
  if row == nil and err == nil then
    err_t = self.errors:not_found(pk)
    return nil, tostring(err_t), err_t
  end
  return row, err, err_t
end

return _M
