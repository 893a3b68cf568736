-- wrk script for bench/webhook_bench.sh: replays pre-generated, distinct, signed Twilio
-- inbound-SMS webhooks (bench_make_requests) and reports machine-readable "BENCH" lines.
--
--   wrk -t T -c C -d D -s bench/webhook.lua URL -- FILE MODE START BUDGET T [RATE]
--
-- FILE    requests file made by bench_make_requests (fixed-size records, record 0 a header)
-- MODE    max:   closed loop, as fast as the target answers; nothing extra per response, so the
--                client costs the same for every target (wrk's own latency figures are used)
--         check: like max, but every response is checked: status 200 and a <Message> in the body
--         rate:  open-loop constant rate (needs -t C -c C: one connection per wrk thread, since
--                wrk's delay()/response() callbacks do not say which connection they are for).
--                Connection i sends its k-th request at t0 + phase_i + k*T/RATE. Latency runs
--                from that scheduled time whenever the connection was still busy with the
--                previous answer (the server made us late: no coordinated omission), else from
--                the actual send (wrk's millisecond timers are the client's lateness, not the
--                server's). Slots that were due but never sent or never answered by the end count
--                as failed and enter the percentiles with latency = end - scheduled time.
--                Every response is checked as in check mode.
-- START   first request record (1-based) this run may use; BUDGET: how many from START on.
--         Thread i takes the contiguous block START + i*BUDGET/T ... ; a thread that runs out
--         starts its block again ("wrapped"), which the caller treats as an error for the
--         gateway (a repeated MessageSid is a replay) and allows for nginx.
-- T       the number of wrk threads (-t), which init() cannot learn otherwise.
-- RATE    total requests/s for rate mode.
local ffi = require("ffi")
ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } tg_bench_timespec;
int clock_gettime(int clk_id, tg_bench_timespec *tp);
]]
local ts = ffi.new("tg_bench_timespec")
local function now_us()
  ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
  return tonumber(ts.tv_sec) * 1000000 + tonumber(ts.tv_nsec) / 1000
end

-- Main state: number the threads and keep them for done().
local threads = {}
function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

-- Thread state.
local reqs, nreqs, idx = {}, 0, 0
local wrapped = 0
local mode
-- rate mode
local interval, phase, t0, slot, due, ready, start_of = 0, 0, nil, 0, 0, 0, 0
local lats, nlat = {}, 0
local ok, bad, sent, first_bad = 0, 0, 0, nil

function init(args)
  local file, start, budget = args[1], tonumber(args[3]), tonumber(args[4])
  mode = args[2]
  local nthreads = tonumber(args[5])
  assert(file and start and budget and nthreads and
    (mode == "max" or mode == "check" or mode == "rate"),
    "usage: -- FILE max|check|rate START BUDGET NTHREADS [RATE]")
  local f = assert(io.open(file, "rb"))
  local header = f:read("*l")
  local rs, total = header:match("^TGBENCH1 (%d+) (%d+)")
  rs, total = tonumber(rs), tonumber(total)
  assert(rs and total, "not a bench_make_requests file: " .. file)
  local per = math.floor(budget / nthreads)
  local first = start + tid * per
  assert(per >= 1 and first + per - 1 <= total,
    string.format("requests %d..%d are past the end of %s (%d)", first, first + per - 1, file,
      total))
  f:seek("set", first * rs)
  local blob = f:read(per * rs)
  f:close()
  local hostport = wrk.host .. (wrk.port and (":" .. wrk.port) or "")
  for i = 0, per - 1 do
    local rec = blob:sub(i * rs + 1, (i + 1) * rs)
    local sig, body = rec:match("^(%S+) (%S+)")
    reqs[i + 1] = wrk.format("POST", wrk.path, {
      ["Host"] = hostport,
      ["Content-Type"] = "application/x-www-form-urlencoded",
      ["X-Twilio-Signature"] = sig,
    }, body)
  end
  nreqs = per
  if mode == "rate" then
    local rate = tonumber(args[6])
    assert(rate and rate > 0, "rate mode needs RATE")
    interval = 1000000 * nthreads / rate -- us between this connection's requests
    phase = tid * interval / nthreads -- spread the connections evenly over an interval
  else
    delay = nil
  end
  if mode == "max" then response = nil end
end

function request()
  -- wrk calls request() once on thread 0 before the run, to check the request parses; that one
  -- is never sent (and in rate mode no slot was scheduled yet).
  if mode == "rate" and not t0 then return reqs[1] end
  idx = idx + 1
  if idx > nreqs then
    idx = 1
    wrapped = wrapped + 1
  end
  sent = sent + 1
  if mode == "rate" then
    local t = now_us()
    -- Busy past the slot (server late): from the slot. Otherwise: from the actual send.
    if ready > due then start_of = due else start_of = t end
  end
  return reqs[idx]
end

function delay()
  local t = now_us()
  if not t0 then t0 = t + phase end
  due = t0 + slot * interval
  slot = slot + 1
  ready = t
  if due <= t then return 0 end
  return math.ceil((due - t) / 1000)
end

function response(status, headers, body)
  if mode == "rate" then
    nlat = nlat + 1
    lats[nlat] = now_us() - start_of
  end
  if status == 200 and body:find("<Message>", 1, true) then
    ok = ok + 1
  else
    bad = bad + 1
    if not first_bad then first_bad = status .. " " .. body:sub(1, 300) end
  end
end

local function pct(sorted, p)
  if #sorted == 0 then return 0 end
  local i = math.ceil(#sorted * p / 100)
  if i < 1 then i = 1 end
  return sorted[i]
end

function done(summary, latency, requests)
  local e = summary.errors
  local sum = { wrapped = 0, ok = 0, bad = 0, sent = 0, unfinished = 0 }
  local all, n = {}, 0
  local t_end = now_us()
  local first_bad_seen
  for _, t in ipairs(threads) do
    sum.wrapped = sum.wrapped + t:get("wrapped")
    sum.ok = sum.ok + t:get("ok")
    sum.bad = sum.bad + t:get("bad")
    sum.sent = sum.sent + t:get("sent")
    first_bad_seen = first_bad_seen or t:get("first_bad")
    if mode == "rate" then
      local l = t:get("lats")
      for i = 1, #l do
        n = n + 1
        all[n] = l[i]
      end
      -- Slots due before the end that were never answered: sent and still waiting, or never
      -- sent because the connection was stuck. Lower bound of their latency: end - due.
      local tt0, iv, got = t:get("t0"), t:get("interval"), #l
      if tt0 then
        -- Only slots due more than 200 ms before the end: wrk stops its threads up to 100 ms
        -- after the duration, and a request sent just before that is not a failure.
        local due_slots = math.floor((t_end - 200000 - tt0) / iv) + 1
        for k = got, due_slots - 1 do
          n = n + 1
          all[n] = t_end - (tt0 + k * iv)
          sum.unfinished = sum.unfinished + 1
        end
      end
    end
  end
  local out = string.format(
    "BENCH mode=%s requests=%d duration_s=%.3f rps=%.1f status_errors=%d connect_errors=%d " ..
    "read_errors=%d write_errors=%d timeouts=%d wrapped=%d sent=%d checked_ok=%d checked_bad=%d",
    mode, summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    e.status, e.connect, e.read, e.write, e.timeout, sum.wrapped, sum.sent, sum.ok, sum.bad)
  if mode == "rate" then
    table.sort(all)
    out = out .. string.format(
      " unfinished=%d samples=%d p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f p999_ms=%.3f max_ms=%.3f",
      sum.unfinished, n, pct(all, 50) / 1000, pct(all, 90) / 1000, pct(all, 99) / 1000,
      pct(all, 99.9) / 1000, (all[n] or 0) / 1000)
  else
    out = out .. string.format(" p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f max_ms=%.3f",
      latency:percentile(50) / 1000, latency:percentile(90) / 1000,
      latency:percentile(99) / 1000, latency.max / 1000)
  end
  io.write(out .. "\n")
  if first_bad_seen then io.write("BENCH first_bad=" .. first_bad_seen:gsub("\n", " ") .. "\n") end
end
