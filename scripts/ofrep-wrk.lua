-- POST /ofrep/v1/evaluate/flags/rules-flag with rotating targetingKeys (the foundation benchmark's 1,000 users).
local countries = {"BR", "PT", "US", "FR", "DE"}
local bodies = {}
for i = 0, 999 do
  local domain = (i % 4 == 0) and "example.com" or "mail.test"
  bodies[i] = string.format('{"context":{"targetingKey":"user-%d","email":"user-%d@%s","country":"%s"}}', i, i, domain, countries[i % 5 + 1])
end
local n = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. (os.getenv("RAMP_KEY") or "")
request = function()
  n = n + 1
  return wrk.format(nil, nil, nil, bodies[n % 1000])
end
