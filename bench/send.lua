-- wrk script for bench/outbox_drain.sh: POST /v1/messages, each a distinct message (thread and
-- counter in the body), until this thread has sent its share (-- COUNT THREADS).
local counter, limit, done, id = 0, 0, 0, 0
local threads = {}
function setup(thread)
  id = id + 1
  thread:set("id", id)
  table.insert(threads, thread)
end
function init(args)
  limit = math.floor(tonumber(args[1]) / tonumber(args[2]))
end
function request()
  counter = counter + 1
  local body = '{"to": "+14155550111", "body": "drain ' .. id .. '-' .. counter .. '"}'
  return wrk.format("POST", "/v1/messages", {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. os.getenv("KEY"),
  }, body)
end
function response(status, headers, body)
  done = done + 1
  if status ~= 202 then
    io.stderr:write("status " .. status .. ": " .. body .. "\n")
  end
  if done >= limit then wrk.thread:stop() end
end
