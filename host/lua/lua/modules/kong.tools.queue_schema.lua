-- kong.tools.queue_schema: the `queue` record of log plugins' schemas (max_batch_size,
-- max_coalescing_delay, max_entries, max_bytes, max_retry_time, initial_retry_delay,
-- max_retry_delay, concurrency_limit, with Kong's defaults and bounds): the same
-- definition as `typedefs.queue`.
local _, H = ...
return H.require("kong.db.schema.typedefs").queue
