-- The custom DAO of reader_notes: Kong mixes these methods into the entity's DAO; the
-- generic methods stay reachable through self.super.
local _M = {}

--- The names of a consumer's notes, sorted.
function _M:names_for_consumer(consumer_id)
  local names = {}
  for row, err in self.super.each_for_consumer(self, { id = consumer_id }) do
    if err then
      return nil, err
    end
    names[#names + 1] = row.name
  end
  table.sort(names)
  return names
end

return _M
