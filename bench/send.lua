-- wrk script for bench/outbox_drain.sh: POST /v1/messages as the tenant whose key is in $KEY,
-- each a distinct message (the run $RUN, the thread and a counter in the body).
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("thread_id", threads)  -- a global of that thread's own Lua state
end
local counter = 0
function request()
  counter = counter + 1
  local body = '{"to": "+14155550111", "body": "drain ' .. os.getenv("RUN") .. '-' ..
    thread_id .. '-' .. counter .. '"}'
  return wrk.format("POST", "/v1/messages", {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. os.getenv("KEY"),
  }, body)
end
