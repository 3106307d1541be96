-- wrk script for `make bench`: GET $BENCH_PATH with a different `Authorization: Bearer` value from
-- $TOKEN_FILE ("USER SECRET" lines) on each request. /healthz runs through this same script, so the client does
-- the same work in every scenario and only the server's work differs.
local headers = {}
local counter = 0
local path = os.getenv("BENCH_PATH") or "/healthz"

function init(args)
  for line in io.lines(os.getenv("TOKEN_FILE")) do
    local secret = line:match("^%S+ (%S+)$")
    if secret then headers[#headers + 1] = "Bearer " .. secret end
  end
  counter = math.random(#headers)
end

function request()
  counter = counter % #headers + 1
  return wrk.format("GET", path, { Authorization = headers[counter] })
end
