-- wrk script for bench/bench_load.py: requests come from a file, one a line,
-- "METHOD<TAB>PATH<TAB>BODY" (BODY may be empty); each connection walks the list from its own offset.
local requests_file = os.getenv("WRK_REQUESTS")
local token = os.getenv("WRK_TOKEN")
local lines = {}
for line in io.lines(requests_file) do
  local method, path, body = line:match("^(%u+)\t([^\t]+)\t?(.*)$")
  lines[#lines + 1] = {method, path, body}
end

local thread_number = 0
function setup(thread)
  thread_number = thread_number + 1
  thread:set("offset", thread_number * 7919)
end

local position = 0
function init(args)
  position = offset or 0
  wrk.headers["Authorization"] = "Bearer " .. token
  wrk.headers["Content-Type"] = "application/json"
end

function request()
  position = position + 1
  local entry = lines[(position % #lines) + 1]
  if entry[3] ~= "" then
    return wrk.format(entry[1], entry[2], nil, entry[3])
  end
  return wrk.format(entry[1], entry[2])
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "RESULT requests=%d duration_us=%d connect=%d read=%d write=%d status=%d timeout=%d p50=%d p95=%d p99=%d max=%d\n",
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max))
end
