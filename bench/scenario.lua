-- wrk script shared by every scenario of bench/run.py.
--
-- usage: wrk ... -s bench/scenario.lua -- <request file> <idempotency 0|1> <If-None-Match value or ->
-- The request file has one request per line: METHOD<TAB>PATH<TAB>BODY (body optional). run.py
-- generates it (random customers, products, variations, orders); each request picks a random line.
-- The bearer token comes from the BENCH_TOKEN environment variable (never on the command line).
-- At the end one line "BENCHJSON {...}" carries latency percentiles (µs) and status counts.

local threads = {}
local requests_ = {}
local raw = {}
local idem = false
local headers = nil
local counter = 0

function setup(thread)
  thread:set("id", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  local file = args[1]
  idem = args[2] == "1"
  local inm = args[3]
  headers = {}
  headers["Authorization"] = "Bearer " .. os.getenv("BENCH_TOKEN")
  headers["Content-Type"] = "application/json"
  if inm ~= nil and inm ~= "" and inm ~= "-" then
    headers["If-None-Match"] = inm
  end
  for line in io.lines(file) do
    local method, path, body = line:match("^(%u+)\t([^\t]+)\t?(.*)$")
    if method ~= nil then
      if body == "" then body = nil end
      if idem then
        table.insert(raw, { method, path, body })
      else
        table.insert(requests_, wrk.format(method, path, headers, body))
      end
    end
  end
  math.randomseed(os.time() * 1000 + (id or 0))
  c2xx, c304, c400, c4xx, c5xx, c400_stock, c400_balance = 0, 0, 0, 0, 0, 0, 0
end

function request()
  if idem then
    counter = counter + 1
    local r = raw[math.random(#raw)]
    local h = {}
    for k, v in pairs(headers) do h[k] = v end
    h["Idempotency-Key"] = string.format("bench-%d-%d-%d-%d", id or 0, os.time(), counter, math.random(1000000000))
    return wrk.format(r[1], r[2], h, r[3])
  end
  return requests_[math.random(#requests_)]
end

function response(status, hdrs, body)
  if status == 304 then
    c304 = c304 + 1
  elseif status >= 200 and status < 300 then
    c2xx = c2xx + 1
  elseif status == 400 then
    c400 = c400 + 1
    if body ~= nil then
      if body:find('"out_of_stock"', 1, true) then
        c400_stock = c400_stock + 1
      elseif body:find('"insufficient_balance"', 1, true) then
        c400_balance = c400_balance + 1
      end
    end
  elseif status < 500 then
    c4xx = c4xx + 1
  else
    c5xx = c5xx + 1
  end
end

function done(summary, latency, requests)
  local names = { "c2xx", "c304", "c400", "c4xx", "c5xx", "c400_stock", "c400_balance" }
  local totals = {}
  for _, name in ipairs(names) do totals[name] = 0 end
  for _, thread in ipairs(threads) do
    for _, name in ipairs(names) do
      totals[name] = totals[name] + (tonumber(thread:get(name)) or 0)
    end
  end
  local e = summary.errors
  io.write(string.format(
    'BENCHJSON {"requests":%d,"duration_us":%d,"p50":%d,"p90":%d,"p95":%d,"p99":%d,"max":%d,"mean":%.1f,' ..
    '"connect":%d,"read":%d,"write":%d,"timeout":%d,"status_errors":%d,' ..
    '"c2xx":%d,"c304":%d,"c400":%d,"c4xx":%d,"c5xx":%d,"c400_stock":%d,"c400_balance":%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90), latency:percentile(95),
    latency:percentile(99), latency.max, latency.mean, e.connect, e.read, e.write, e.timeout, e.status,
    totals.c2xx, totals.c304, totals.c400, totals.c4xx, totals.c5xx, totals.c400_stock, totals.c400_balance))
end
