-- wrk script for `scripts/load.py --release-second`: the requests readers make at 09:30.
--
--   wrk -s scripts/release_second.lua http://127.0.0.1:8201 -- <publish second, Unix time> <path> ...
--
-- Each connection rotates through the paths. At the end it prints one line per response status,
-- counted before and from the publish second (whole seconds, by os.time()):
--   status 404: 812 before, 3 from
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  -- args[0] is the URL; the arguments after "--" follow.
  due, paths, counts, i = tonumber(args[1]), {}, {}, 0
  for n = 2, #args do
    table.insert(paths, args[n])
  end
end

function request()
  i = i % #paths + 1
  return wrk.format("GET", paths[i])
end

function response(status, headers, body)
  -- Flat keys ("404 before"): wrk cannot copy a table of tables out of a thread.
  local key = status .. (os.time() >= due and " from" or " before")
  counts[key] = (counts[key] or 0) + 1
end

function done(summary, latency, requests)
  local totals = {}
  for _, thread in ipairs(threads) do
    for key, n in pairs(thread:get("counts")) do
      local status, phase = key:match("(%d+) (%a+)")
      totals[status] = totals[status] or { before = 0, from = 0 }
      totals[status][phase] = totals[status][phase] + n
    end
  end
  for status, n in pairs(totals) do
    io.write(string.format("status %s: %d before, %d from\n", status, n.before, n.from))
  end
end
