-- wrk script of bench/http.py: requests read from the file named by WRK_REQUESTS
-- (one per line: host, path, extra header line, tab-separated), taken in turn;
-- counts answers that are not 2xx; prints one JSON line of figures at the end.

local requests = {}
local threads = {}
local counter = 0
non2xx = 0
first_bad = ""

local function load()
  for line in io.lines(os.getenv("WRK_REQUESTS")) do
    local host, path, header = line:match("^([^\t]*)\t([^\t]*)\t?(.*)$")
    local headers = { ["Host"] = host, ["User-Agent"] = "bench/http" }
    if header ~= nil and header ~= "" then
      local name, value = header:match("^([^:]+):%s*(.*)$")
      headers[name] = value
    end
    requests[#requests + 1] = wrk.format("GET", path, headers)
  end
end

function setup(thread)
  threads[#threads + 1] = thread
end

function init(args)
  load()
  counter = 0
end

function request()
  counter = counter + 1
  return requests[(counter - 1) % #requests + 1]
end

function response(status, headers, body)
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
    if first_bad == "" then
      -- kept JSON-safe: letters, digits, spaces and a little punctuation
      local text = string.gsub(string.sub(body or "", 1, 200), "[^%w %.:/_-]", " ")
      first_bad = tostring(status) .. " " .. text
    end
  end
end

function done(summary, latency, requests_)
  local bad, sample = 0, ""
  for _, thread in ipairs(threads) do
    bad = bad + thread:get("non2xx")
    local first = thread:get("first_bad")
    if sample == "" and first ~= nil then sample = first end
  end
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests": %d, "duration_us": %d, "p50_us": %d, "p95_us": %d, "p99_us": %d,'
      .. ' "non2xx": %d, "socket_errors": %d, "timeouts": %d, "first_bad": "%s"}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(95),
    latency:percentile(99), bad, e.connect + e.read + e.write, e.timeout, sample))
end
