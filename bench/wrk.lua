-- Replays a traffic file written by bench/traffic.py: one signed form POST per line, in order.
-- Environment: BENCH_TRAFFIC (the file), BENCH_PATH (URL path), BENCH_OUT (JSON summary file),
-- BENCH_THREADS (wrk -t), BENCH_SKIP (lines to leave out), BENCH_LIMIT (stop sending after this
-- many responses; 0 = no limit).
-- Thread k takes lines k, k+t, k+2t, ... so no two threads send the same message. A thread
-- that runs out of lines starts again from its first ("wraps"): replayed messages are
-- duplicates, which the pipeline answers from its idempotency records, so the bench reports it.
-- A skip past the file's end (a fast server has had every line already) wraps the same way and
-- is reported as a wrap too.

local threads = {}

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function init(args)
  reqs, n, wraps, responses, bad = {}, 0, 0, 0, 0
  limit = tonumber(os.getenv("BENCH_LIMIT") or "0")
  local skip = tonumber(os.getenv("BENCH_SKIP") or "0")
  local nthreads = tonumber(os.getenv("BENCH_THREADS") or "1")
  local path = os.getenv("BENCH_PATH") or "/twilio"
  local total = 0
  for _ in io.lines(os.getenv("BENCH_TRAFFIC")) do
    total = total + 1
  end
  prewraps = total > 0 and math.floor(skip / total) or 0
  skip = total > 0 and skip % total or 0
  local line_no = 0
  for line in io.lines(os.getenv("BENCH_TRAFFIC")) do
    if line_no >= skip and line_no % nthreads == id then
      local sig, body = line:match("^([^\t]*)\t(.*)$")
      n = n + 1
      reqs[n] = wrk.format("POST", path, {
        ["Content-Type"] = "application/x-www-form-urlencoded",
        ["X-Twilio-Signature"] = sig,
      }, body)
    end
    line_no = line_no + 1
  end
  i = 0
end

function request()
  i = i + 1
  if i > n then
    i, wraps = 1, wraps + 1
  end
  return reqs[i]
end

function response(status, headers, body)
  responses = responses + 1
  if status ~= 200 then
    bad = bad + 1
  end
  if limit > 0 and responses >= limit then
    wrk.thread:stop()  -- wrk still sleeps out -d: keep -d short with a limit
  end
end

function done(summary, latency, requests)
  local wrapped, non200, sent = 0, 0, 0
  for _, thread in ipairs(threads) do
    wrapped = wrapped + thread:get("wraps") + thread:get("prewraps")
    non200 = non200 + thread:get("bad")
    sent = sent + thread:get("i") + thread:get("wraps") * thread:get("n")
  end
  local e = summary.errors
  local out = assert(io.open(os.getenv("BENCH_OUT"), "w"))
  out:write(string.format(
    '{"requests": %d, "duration_us": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d, '
      .. '"max_us": %d, "mean_us": %.1f, "non200": %d, "wraps": %d, "sent": %d, '
      .. '"connect_errors": %d, "read_errors": %d, "write_errors": %d, "timeouts": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, latency.mean, non200, wrapped, sent,
    e.connect, e.read, e.write, e.timeout))
  out:close()
end
