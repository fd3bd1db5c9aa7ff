-- wrk script for POST /statistics: every request a new usage report (report_id PREFIX-tTHREAD-N), answers
-- counted by status in each thread, and one JSON line of results printed at the end.
-- Usage: wrk -s post-report.lua URL -- PREFIX
local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("thread_number", #threads)
end

function init(args)
  prefix = string.format("%s-t%d", args[1] or "wrk", thread_number)
  sent = 0
  statuses = {}
end

function request()
  sent = sent + 1
  local body = string.format(
    '{"report_id":"%s-%d","installation_id":"%s","active_users":3,"app_version":"1.0.0","platform":"linux"}',
    prefix, sent, prefix)
  return wrk.format("POST", nil, { ["Content-Type"] = "application/json" }, body)
end

function response(status, headers, body)
  local key = tostring(status)
  statuses[key] = (statuses[key] or 0) + 1
end

function done(summary, latency, requests)
  local parts = {}
  for _, thread in ipairs(threads) do
    for status, count in pairs(thread:get("statuses")) do
      parts[status] = (parts[status] or 0) + count
    end
  end
  local statusJson = {}
  for status, count in pairs(parts) do table.insert(statusJson, string.format('"%s":%d', status, count)) end
  local errors = summary.errors
  io.write(string.format(
    'WRK_RESULT {"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,"socket_errors":%d,"statuses":{%s}}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    errors.connect + errors.read + errors.write + errors.timeout, table.concat(statusJson, ",")))
end
