-- reserve.lua: check every limit and budget of one request, then charge all of them or none.
-- Atomic because Redis runs a script alone; one round trip per request.
--
-- KEYS    candidate counters, laid out by plan.ts (windows and periods: previous, current, next).
-- ARGV[1] JSON ScriptPlan: {id, now?, checks: [{t, k, l, c, x, w?, s?, b?, g}]}
-- Reply   {admitted, now, then per check: chosen key index, used before, reset (ms, 0 = none)}
--
-- The in-memory executor (memory-executor.ts) mirrors this script line by line; change both.

local plan = cjson.decode(ARGV[1])
local now = plan.now
if not now then
  -- Redis server time, so every replica of every sidecar agrees on windows and periods.
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- Lua formats large numbers as 1e+15; Redis wants integers as digits.
local function int(n)
  return string.format('%d', n)
end

local reply = {0, now}
local chosen = {}
local admitted = 1

for i, c in ipairs(plan.checks) do
  local key, used, reset
  if c.t == 'w' then
    local start = math.floor(now / c.w) * c.w
    local slot = (start - c.s) / c.w
    if slot < 0 or slot > 2 then
      return redis.error_reply('TOLLGATE_ERR_CLOCK_SKEW sidecar and Redis clocks differ by more than a window')
    end
    key = c.k + slot
    used = tonumber(redis.call('GET', KEYS[key]) or '0')
    reset = start + c.w
  elseif c.t == 'c' then
    key = c.k
    -- Slots of crashed sidecars expire: members are scored by their lease's end.
    redis.call('ZREMRANGEBYSCORE', KEYS[key], '-inf', int(now))
    used = redis.call('ZCARD', KEYS[key])
    reset = 0
  else
    for j = 0, 2 do
      if c.b[j + 1] <= now and now < c.b[j + 2] then
        key = c.k + j
        reset = c.b[j + 2]
      end
    end
    if not key then
      return redis.error_reply('TOLLGATE_ERR_CLOCK_SKEW sidecar and Redis clocks differ by more than a period')
    end
    used = tonumber(redis.call('GET', KEYS[key]) or '0')
  end
  chosen[i] = key
  if c.x == 0 and used + c.c > c.l then
    admitted = 0
  end
  reply[#reply + 1] = key
  reply[#reply + 1] = used
  reply[#reply + 1] = reset
end

if admitted == 1 then
  for i, c in ipairs(plan.checks) do
    local key = KEYS[chosen[i]]
    if c.t == 'c' then
      redis.call('ZADD', key, int(now + c.g), plan.id)
      redis.call('PEXPIRE', key, int(c.g + 60000))
    elseif redis.call('INCRBY', key, int(c.c)) == c.c then
      -- First charge of this window or period: the counter dies a grace period after it ends.
      -- Relative to the decision time, so an injected clock (tests) expires keys consistently.
      redis.call('PEXPIRE', key, int(reply[2 + 3 * i] + c.g - now))
    end
  end
  reply[1] = 1
end
return reply
