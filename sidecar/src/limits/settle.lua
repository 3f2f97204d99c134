-- settle.lua: replace a reservation's estimate by the real usage and free its slots; one round trip.
--
-- KEYS    token counters, then spend counters, then concurrency sets (see Reservation.charged).
-- ARGV    tokenDelta, spendDelta (actual - estimate, integers), reservation id, #token keys, #spend keys
-- Reply   number of concurrency slots freed
--
-- A counter that no longer exists belongs to a window or period that is over: it is left alone
-- rather than recreated without an expiry. The in-memory executor mirrors this script.

local nt = tonumber(ARGV[4])
local ns = tonumber(ARGV[5])

local function adjust(key, delta)
  if delta == '0' or redis.call('EXISTS', key) == 0 then
    return
  end
  if redis.call('INCRBY', key, delta) < 0 then
    redis.call('SET', key, '0', 'KEEPTTL')
  end
end

for i = 1, nt do
  adjust(KEYS[i], ARGV[1])
end
for i = nt + 1, nt + ns do
  adjust(KEYS[i], ARGV[2])
end
local freed = 0
for i = nt + ns + 1, #KEYS do
  freed = freed + redis.call('ZREM', KEYS[i], ARGV[3])
end
return freed
