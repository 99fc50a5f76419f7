-- wrk script for bench/run.py: cycles over prepared requests and reports JSON.
--
-- Usage: wrk ... -s bench/requests.lua URL -- REQUESTS_FILE THREADS
--
-- REQUESTS_FILE has one request a line, tab-separated:
--   METHOD  PATH  TOKEN  IF_NONE_MATCH  BODY        ("-" for an empty field)
-- Thread i of THREADS takes lines i, i + THREADS, i + 2*THREADS, ... and sends them in
-- order, so no two threads ever send the same line (a checkout line is one shopper's
-- cart). A thread that reaches the end of its share starts again and counts a wrap.
--
-- done() prints one line "BENCH_RESULT {json}" with the request count, duration, socket
-- errors, the count of each HTTP status and latency percentiles in microseconds.

local threads = {}
local next_id = 0

function setup(thread)
   thread:set("id", next_id)
   next_id = next_id + 1
   table.insert(threads, thread)
end

local function split_tabs(line)
   local fields = {}
   for field in (line .. "\t"):gmatch("([^\t]*)\t") do
      table.insert(fields, field)
   end
   return fields
end

local function field(value)
   if value == nil or value == "" or value == "-" then
      return nil
   end
   return value
end

local prepared = {}
local position = 0
statuses = {}
wraps = 0
sent = 0

function init(args)
   local path, nthreads = args[1], tonumber(args[2])
   local index = 0
   for line in io.lines(path) do
      if index % nthreads == id then
         local f = split_tabs(line)
         local headers = { ["Host"] = wrk.host .. ":" .. wrk.port, ["Accept"] = "application/json" }
         local token, etag, body, prefer = field(f[3]), field(f[4]), field(f[5]), field(f[6])
         if token then
            headers["Authorization"] = "Bearer " .. token
         end
         if etag then
            headers["If-None-Match"] = etag
         end
         if body then
            headers["Content-Type"] = "application/json"
         end
         if prefer then
            headers["Prefer"] = prefer
         end
         table.insert(prepared, wrk.format(f[1], f[2], headers, body))
      end
      index = index + 1
   end
   if #prepared == 0 then
      error("thread " .. id .. " has no requests in " .. path)
   end
end

function request()
   position = position + 1
   if position > #prepared then
      position = 1
      wraps = wraps + 1
   end
   sent = sent + 1
   return prepared[position]
end

function response(status, headers, body)
   statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
   local counts, total_wraps = {}, 0
   for _, thread in ipairs(threads) do
      for status, n in pairs(thread:get("statuses")) do
         counts[status] = (counts[status] or 0) + n
      end
      total_wraps = total_wraps + thread:get("wraps")
   end
   local status_parts = {}
   for status, n in pairs(counts) do
      table.insert(status_parts, string.format('"%d": %d', status, n))
   end
   local e = summary.errors
   local percentiles = {}
   for _, p in ipairs({ 50, 90, 95, 99, 99.9 }) do
      table.insert(percentiles, string.format('"%s": %d', tostring(p), latency:percentile(p)))
   end
   io.write(string.format(
      'BENCH_RESULT {"requests": %d, "duration_us": %d, "bytes": %d, "wraps": %d, '
         .. '"socket_errors": {"connect": %d, "read": %d, "write": %d, "timeout": %d}, '
         .. '"statuses": {%s}, "latency_us": {"mean": %.1f, "max": %d, "percentiles": {%s}}}\n',
      summary.requests, summary.duration, summary.bytes, total_wraps,
      e.connect, e.read, e.write, e.timeout,
      table.concat(status_parts, ", "),
      latency.mean, latency.max, table.concat(percentiles, ", ")
   ))
end
