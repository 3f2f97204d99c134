-- reserve.lua: check every limit and budget of one request, then charge all of them or none.
-- Atomic because Redis runs a script alone; one round trip per request.
--
-- KEYS    candidate counters, laid out by plan.ts (windows and periods: previous, current, next).
-- ARGV    id, now ('' = Redis server time), number of checks, then STRIDE fields per check:
--         t k l c x g p1 p2 p3 p4 (ScriptCheck in plan.ts; for t = w: p1 = width, p2 = first
--         start; for t = p: p1..p4 = period bounds). Flat strings read in place: decoding JSON,
--         or even building a table per check, cost more than all the counter work together.
-- Reply   {admitted, now, then per check: chosen key index, used before, reset (ms, 0 = none)}
--
-- The in-memory executor (memory-executor.ts) mirrors this script; change both.

local STRIDE = 10
local T, K, L, C, X, G, P1, P2, P3, P4 = 1, 2, 3, 4, 5, 6, 7, 8, 9, 10

local id = ARGV[1]
local now = tonumber(ARGV[2])
if not now then
  -- Redis server time, so every replica of every sidecar agrees on windows and periods.
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local n = tonumber(ARGV[3])

local function arg(i, f)
  return ARGV[3 + (i - 1) * STRIDE + f]
end
local function num(i, f)
  return tonumber(ARGV[3 + (i - 1) * STRIDE + f])
end
-- Lua formats large numbers as 1e+15; Redis wants integers as digits.
local function int(v)
  return string.format('%d', v)
end

-- Pick each check's counter; one MGET then reads every window and period counter picked.
local reply = {0, now}
local wanted, slot_of = {}, {}
for i = 1, n do
  local t = arg(i, T)
  local key, reset = num(i, K), 0
  if t == 'w' then
    local width = num(i, P1)
    local start = math.floor(now / width) * width
    local slot = (start - num(i, P2)) / width
    if slot < 0 or slot > 2 then
      return redis.error_reply('TOLLGATE_ERR_CLOCK_SKEW sidecar and Redis clocks differ by more than a window')
    end
    key = key + slot
    reset = start + width
  elseif t == 'p' then
    local found = false
    for j = 0, 2 do
      local from, to = num(i, P1 + j), num(i, P2 + j)
      if from <= now and now < to then
        key = key + j
        reset = to
        found = true
      end
    end
    if not found then
      return redis.error_reply('TOLLGATE_ERR_CLOCK_SKEW sidecar and Redis clocks differ by more than a period')
    end
  end
  if t ~= 'c' then
    wanted[#wanted + 1] = KEYS[key]
    slot_of[i] = #wanted
  end
  reply[3 * i] = key
  reply[3 * i + 2] = reset
end

local values = #wanted > 0 and redis.call('MGET', unpack(wanted)) or {}
local admitted = 1
for i = 1, n do
  local used
  if arg(i, T) == 'c' then
    local key = KEYS[reply[3 * i]]
    -- Slots of crashed sidecars expire: members are scored by their lease's end.
    redis.call('ZREMRANGEBYSCORE', key, '-inf', int(now))
    used = redis.call('ZCARD', key)
  else
    used = tonumber(values[slot_of[i]] or '0')
  end
  reply[3 * i + 1] = used
  if arg(i, X) == '0' and used + num(i, C) > num(i, L) then
    admitted = 0
  end
end

if admitted == 1 then
  for i = 1, n do
    local key = KEYS[reply[3 * i]]
    if arg(i, T) == 'c' then
      local lease = num(i, G)
      redis.call('ZADD', key, int(now + lease), id)
      redis.call('PEXPIRE', key, int(lease + 60000))
    else
      local cost = num(i, C)
      if redis.call('INCRBY', key, int(cost)) == cost then
        -- First charge of this window or period: the counter dies a grace period after it ends,
        -- relative to the decision time so that an injected clock (tests) expires consistently.
        redis.call('PEXPIRE', key, int(reply[3 * i + 2] + num(i, G) - now))
      end
    end
  end
  reply[1] = 1
end
return reply
