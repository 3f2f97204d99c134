-- lease.lua: one sidecar takes, tops up, renews and returns its leases on every limit and budget
-- of one tenant, charges the call that asked (if any), and applies its batched settlements. One
-- round trip; atomic because Redis runs a script alone. The rule and its bound: docs/limits.md.
--
-- A lease is part of a counter charged in advance: the counter holds what calls used plus the
-- unused leases of every sidecar, so admitting a call against a lease never takes a counter past
-- the limit the lease was granted under. Each lease hash (one per counter family) records every
-- holder's unused lease as `amount:expiresAt:counterKey`; the unused leases of all holders on one
-- counter never exceed `cap` (docs/limits.md: the fraction of the limit), so a lowered limit is
-- overshot by no more than that.
--
-- KEYS    per check: its candidate counters (windows, periods: previous, current, next; the
--         slots hash of a concurrency limit: one), then its lease hash; after the checks, the
--         counters to adjust.
-- ARGV    holder, now ('' = Redis server time), lease ms, number of checks, then STRIDE fields per
--         check (LeaseCheck in lease-plan.ts):
--           t k l need want cap mine inuse mk x g p1 p2 p3 p4 h
--         t: w window, p period, c concurrency; k: first candidate key; l: limit; need: what the
--         calling request must be charged now (0: renew/top-up only, never rejected); want: more
--         lease wanted; cap: most unused lease all holders may hold; mine: the holder's unused
--         lease (w/p: on key mk; c: its spare slots), counted and kept; inuse: for c its calls in
--         flight; x: 1 shadow; g: counter expiry after its window/period, or the slot lease (c);
--         p1..p4: window width and first start (w) or period bounds (p); h: the lease hash key.
--         Then the number of adjustments and (key index, delta) pairs: settlements, returns.
-- Reply   {admitted, now, then per check: chosen key index, used, reset, grant, holders, held}
--         used: counted before this call, the holder's own unused lease excluded; grant: lease
--         added (units, or spare slots); held: slots the holder holds now (c).

local STRIDE = 16
local T, K, L, NEED, WANT, CAP, MINE, INUSE, MK, X, G, P1, P2, P3, P4, H =
  1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16
local OUT = 6

local holder = ARGV[1]
local now = tonumber(ARGV[2])
if not now then
  -- Redis server time, so every sidecar agrees on windows, periods and lease expiry.
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local lease_ms = tonumber(ARGV[3])
local n = tonumber(ARGV[4])

local function arg(i, f)
  return ARGV[4 + (i - 1) * STRIDE + f]
end
local function num(i, f)
  return tonumber(ARGV[4 + (i - 1) * STRIDE + f])
end
-- Lua formats large numbers as 1e+15; Redis wants integers as digits.
local function int(v)
  return string.format('%d', v)
end

-- Settlements and returns first, so that this decision sees them.
local adj = 4 + n * STRIDE + 1
for j = 1, tonumber(ARGV[adj]) do
  local key = KEYS[tonumber(ARGV[adj + 2 * j - 1])]
  if redis.call('EXISTS', key) == 1 then
    if redis.call('INCRBY', key, ARGV[adj + 2 * j]) < 0 then
      redis.call('SET', key, '0', 'KEEPTTL')
    end
  end
end

local reply = {0, now}
local admitted = 1
local chosen, mine_of, existed = {}, {}, {}
for i = 1, n do
  local t = arg(i, T)
  local key, reset = num(i, K), 0
  if t == 'w' then
    local width = num(i, P1)
    local start = math.floor(now / width) * width
    local s = (start - num(i, P2)) / width
    if s < 0 or s > 2 then
      return redis.error_reply('TOLLGATE_ERR_CLOCK_SKEW sidecar and Redis clocks differ by more than a window')
    end
    key = key + s
    reset = start + width
  elseif t == 'p' then
    local found = false
    for j = 0, 2 do
      if num(i, P1 + j) <= now and now < num(i, P2 + j) then
        key = key + j
        reset = num(i, P2 + j)
        found = true
      end
    end
    if not found then
      return redis.error_reply('TOLLGATE_ERR_CLOCK_SKEW sidecar and Redis clocks differ by more than a period')
    end
  end
  chosen[i] = key
  local name = KEYS[key]

  local used, mine = 0, 0
  if t == 'c' then
    -- Slots: one field per holder, `held:expiresAt`; a crashed sidecar's slots expire with it.
    local fields = redis.call('HGETALL', name)
    for j = 1, #fields, 2 do
      local held, expires = string.match(fields[j + 1], '^(%d+):(%d+)$')
      if not held or tonumber(expires) <= now then
        redis.call('HDEL', name, fields[j])
      elseif fields[j] ~= holder then
        used = used + tonumber(held)
      end
    end
    -- The holder's calls in flight are used; its spare slots (mine) are its unused lease, kept.
    used = used + num(i, INUSE)
    mine = num(i, MINE)
  else
    local raw = redis.call('GET', name)
    existed[i] = raw ~= false
    used = tonumber(raw or '0')
    if num(i, MK) == key then
      mine = math.min(num(i, MINE), used)
      used = used - mine
    end
  end
  mine_of[i] = mine

  -- Unused leases of the other holders on this counter; expired ones drop out of the sum (their
  -- charge stays: a crashed sidecar's unused lease is lost until its window or period ends).
  -- With no cap (per-call reservations: a small limit, or fraction 0) nobody holds a lease to count.
  local hash = KEYS[num(i, H)]
  local entries = num(i, CAP) > 0 and redis.call('HGETALL', hash) or {}
  local others, holders = 0, 1
  for j = 1, #entries, 2 do
    if entries[j] ~= holder then
      local amount, expires, of = string.match(entries[j + 1], '^(%d+):(%d+):(.*)$')
      if not amount or tonumber(expires) <= now or of ~= name then
        redis.call('HDEL', hash, entries[j])
      else
        others = others + tonumber(amount)
        holders = holders + 1
      end
    end
  end

  local limit, need = num(i, L), num(i, NEED)
  if arg(i, X) == '0' and need > 0 and used + mine + need > limit then
    admitted = 0
  end
  -- The lease: what is wanted, within what is left after this call and the unused lease kept,
  -- and within the cap less every holder's unused lease.
  local grant = math.min(num(i, WANT), num(i, CAP) - others - mine)
  if arg(i, X) == '0' then
    grant = math.min(grant, limit - used - need - mine)
  end
  if grant < 0 then
    grant = 0
  end

  local b = 2 + (i - 1) * OUT
  reply[b + 1] = key
  reply[b + 2] = used
  reply[b + 3] = reset
  reply[b + 4] = grant
  reply[b + 5] = holders
  reply[b + 6] = 0
end

if admitted == 0 then
  return reply
end

for i = 1, n do
  local b = 2 + (i - 1) * OUT
  local name = KEYS[chosen[i]]
  local hash = KEYS[num(i, H)]
  local need, grant, mine = num(i, NEED), reply[b + 4], mine_of[i]
  if arg(i, T) == 'c' then
    local ttl = num(i, G)
    local held = num(i, INUSE) + mine + need + grant
    if held > 0 then
      redis.call('HSET', name, holder, int(held) .. ':' .. int(now + ttl))
      redis.call('PEXPIRE', name, int(ttl + 60000))
    else
      redis.call('HDEL', name, holder)
    end
    reply[b + 6] = held
  else
    local charge = need + grant
    if charge > 0 then
      if redis.call('INCRBY', name, int(charge)) == charge and not existed[i] then
        -- First charge of this window or period: the counter dies a grace period after it ends,
        -- relative to the decision time so that an injected clock (tests) expires consistently.
        redis.call('PEXPIRE', name, int(reply[b + 3] + num(i, G) - now))
      end
    end
  end
  if mine + grant > 0 then
    redis.call('HSET', hash, holder, int(mine + grant) .. ':' .. int(now + lease_ms) .. ':' .. name)
    redis.call('PEXPIRE', hash, int(lease_ms + 60000))
  else
    redis.call('HDEL', hash, holder)
  end
end
reply[1] = 1
return reply
