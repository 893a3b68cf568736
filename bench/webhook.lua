-- wrk script for bench/webhook_bench.sh: replays pre-generated, distinct, signed Twilio
-- inbound-SMS webhooks (bench_make_requests) and prints one machine-readable "BENCH" line.
--
--   wrk -t T -c C -d D -s bench/webhook.lua URL -- FILE MODE START BUDGET T GO_MS WINDOW_S [RATE]
--
-- FILE      requests file made by bench_make_requests (fixed-size records, record 0 a header)
-- MODE      max:   closed loop, as fast as the target answers, nothing extra per response, so
--                  that the client costs the same for every target (latency figures: wrk's own)
--           check: like max, but every response is checked: status 200 and a <Message> in it
--           rate:  open loop at a constant RATE (needs -t C -c C: one connection per wrk
--                  thread, since wrk's delay()/response() callbacks do not say which connection
--                  they are for). Connection i sends its k-th request at GO + (i + k*C)/RATE.
--                  Latency runs from that scheduled time when the connection was still busy
--                  with the previous answer (the server made us late: no coordinated omission),
--                  else from the actual send (a wrk timer firing late is the client's fault).
--                  A scheduled request never answered by the end counts as unfinished and enters
--                  the percentiles with latency = end - scheduled time (at least 1 s). Every
--                  response is checked as in check mode.
-- START     first request record (1-based) this run may use; BUDGET: how many from START on.
--           Thread i takes the contiguous block START + i*BUDGET/T ...; a thread that runs out
--           starts its block again ("wrapped"): the caller treats that as an error for the
--           gateway (a repeated MessageSid would be a replay) and allows it for nginx.
-- T         the number of wrk threads (-t), which init() cannot learn otherwise.
-- GO_MS     wall-clock time (ms since the epoch) at which every thread starts sending. wrk runs
--           each thread's init() (loading its requests) one after the other and starts each
--           thread as soon as its own init is done: without a common start the first thread
--           would run alone for a while. The caller sets GO after every init can be done.
-- WINDOW_S  the measured window, [GO, GO + WINDOW_S): requests/s count the requests sent in it
--           (max, check) or the answers received in it (rate). wrk's -d must cover the lead-in
--           and a second or two more, so that answers to the last requests can arrive.
-- RATE      total requests/s for rate mode.
local ffi = require("ffi")
ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } tg_bench_timespec;
int clock_gettime(int clk_id, tg_bench_timespec *tp);
int usleep(unsigned int usec);
]]
local ts = ffi.new("tg_bench_timespec")
local function now_us() -- CLOCK_REALTIME: GO comes from another process
  ffi.C.clock_gettime(0, ts)
  return tonumber(ts.tv_sec) * 1000000 + tonumber(ts.tv_nsec) / 1000
end

-- Main state: number the threads and keep them for done().
local threads = {}
function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

-- Thread state. done() reads the globals below from each thread with thread:get().
local reqs, nreqs, idx = {}, 0, 0
local slot, due, ready, start_of = 0, 0, 0, 0
local nlat = 0
local skip_verify, waiting = false, true
mode, go, go_end = nil, 0, 0
wrapped, ok, bad, sent, in_window, answered_in_window, first_bad = 0, 0, 0, 0, 0, 0, nil
interval, t0, lats = 0, 0, {} -- rate mode

function init(args)
  local file, start, budget = args[1], tonumber(args[3]), tonumber(args[4])
  local nthreads, go_ms, window_s = tonumber(args[5]), tonumber(args[6]), tonumber(args[7])
  mode = args[2]
  assert(file and start and budget and nthreads and go_ms and window_s and
    (mode == "max" or mode == "check" or mode == "rate"),
    "usage: -- FILE max|check|rate START BUDGET THREADS GO_MS WINDOW_S [RATE]")
  go = go_ms * 1000
  go_end = go + window_s * 1000000
  local f = assert(io.open(file, "rb"))
  local rs, total = f:read("*l"):match("^TGBENCH1 (%d+) (%d+)")
  rs, total = tonumber(rs), tonumber(total)
  assert(rs and total, "not a bench_make_requests file: " .. file)
  local per = math.floor(budget / nthreads)
  local first = start + tid * per
  assert(per >= 1 and first + per - 1 <= total,
    string.format("requests %d..%d are past the end of %s (%d)", first, first + per - 1, file,
      total))
  f:seek("set", first * rs)
  local hostport = wrk.host .. (wrk.port and (":" .. wrk.port) or "")
  for i = 1, per do
    local sig, body = f:read(rs):match("^(%S+) (%S+)")
    reqs[i] = wrk.format("POST", wrk.path, {
      ["Host"] = hostport,
      ["Content-Type"] = "application/x-www-form-urlencoded",
      ["X-Twilio-Signature"] = sig,
    }, body)
  end
  f:close()
  nreqs = per
  -- wrk calls request() once on thread 0 before the run, to check that it parses; that one is
  -- never sent.
  skip_verify = tid == 0
  if mode == "rate" then
    local rate = tonumber(args[8])
    assert(rate and rate > 0, "rate mode needs RATE")
    interval = 1000000 * nthreads / rate -- us between this connection's requests
    t0 = go + tid * interval / nthreads  -- spread the connections evenly over an interval
  else
    delay = nil
  end
  if mode == "max" then response = nil end
end

function request()
  if skip_verify then
    skip_verify = false
    return reqs[1]
  end
  local t = now_us()
  if waiting then -- first request of this thread (max, check): wait for the common start
    waiting = false
    if t < go then
      ffi.C.usleep(math.floor(go - t))
      t = now_us()
    end
  end
  idx = idx + 1
  if idx > nreqs then
    idx = 1
    wrapped = wrapped + 1
  end
  sent = sent + 1
  if t >= go and t < go_end then in_window = in_window + 1 end
  if mode == "rate" then
    -- Busy past the slot (server late): from the slot. Otherwise: from the actual send.
    if ready > due then start_of = due else start_of = t end
  end
  return reqs[idx]
end

function delay()
  local t = now_us()
  due = t0 + slot * interval
  if due >= go_end then return 3600000 end -- the window is over: this connection is done
  slot = slot + 1
  ready = t
  -- wrk's timers count whole milliseconds: round down, so that the client is never the one who
  -- is late (a request sent up to 1 ms early is timed from its actual send).
  if due <= t then return 0 end
  return math.floor((due - t) / 1000)
end

function response(status, headers, body)
  if mode == "rate" then
    local t = now_us()
    nlat = nlat + 1
    lats[nlat] = t - start_of
    if t < go_end then answered_in_window = answered_in_window + 1 end
  end
  if status == 200 and body:find("<Message>", 1, true) then
    ok = ok + 1
  else
    bad = bad + 1
    if not first_bad then first_bad = status .. " " .. body:sub(1, 300) end
  end
end

local function get(t, name)
  local v = t:get(name)
  if v == nil then io.write("BENCH warning=a wrk thread has no " .. name .. "\n") end
  return v or 0
end

local function pct(sorted, p)
  if #sorted == 0 then return 0 end
  local i = math.ceil(#sorted * p / 100)
  if i < 1 then i = 1 end
  return sorted[i]
end

function done(summary, latency, requests)
  mode = threads[1]:get("mode")
  local window_s = (threads[1]:get("go_end") - threads[1]:get("go")) / 1e6
  local e = summary.errors
  local sum = { wrapped = 0, ok = 0, bad = 0, sent = 0, in_window = 0, answered_in_window = 0,
    unfinished = 0 }
  local all, n = {}, 0
  local t_end = now_us()
  local first_bad_seen
  for _, t in ipairs(threads) do
    for _, k in ipairs({ "wrapped", "ok", "bad", "sent", "in_window", "answered_in_window" }) do
      sum[k] = sum[k] + get(t, k)
    end
    first_bad_seen = first_bad_seen or t:get("first_bad")
    if mode == "rate" then
      local l = t:get("lats")
      for i = 1, #l do
        n = n + 1
        all[n] = l[i]
      end
      -- Scheduled requests never answered: never sent because the connection was stuck, or
      -- sent and still waiting. Their latency is at least end - scheduled time.
      local tt0, iv, go_end = t:get("t0"), t:get("interval"), t:get("go_end")
      local slots = math.ceil((go_end - tt0) / iv)
      for k = #l, slots - 1 do
        n = n + 1
        all[n] = t_end - (tt0 + k * iv)
        sum.unfinished = sum.unfinished + 1
      end
    end
  end
  -- max, check: requests sent in the window; rate: scheduled requests answered in the window.
  local counted = mode == "rate" and sum.answered_in_window or sum.in_window
  local out = string.format(
    "BENCH mode=%s requests=%d window_s=%.1f rps=%.1f status_errors=%d connect_errors=%d " ..
    "read_errors=%d write_errors=%d timeouts=%d wrapped=%d sent=%d completed=%d " ..
    "checked_ok=%d checked_bad=%d",
    mode, counted, window_s, counted / window_s, e.status, e.connect, e.read, e.write,
    e.timeout, sum.wrapped, sum.sent, summary.requests, sum.ok, sum.bad)
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
