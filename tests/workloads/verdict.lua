-- wrk: one path (VERDICT_PATH, set by verdicts.sh through the URL) and an optional pause
-- between a connection's requests (VERDICT_DELAY ms) for a light load
local d = tonumber(os.getenv("VERDICT_DELAY") or "0")
function delay()
  return d
end
