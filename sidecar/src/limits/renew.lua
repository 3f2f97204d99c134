-- renew.lua: extend the leases of concurrency slots whose calls are still in flight; one round trip.
--
-- KEYS    concurrency sets (keys.inflight), one per slot
-- ARGV    lease (ms), now ('' = Redis server time), then one reservation id per key
-- Reply   number of slots renewed
--
-- XX: a slot that already expired (and may have been swept by a reserve) is not taken back; its
-- call goes on without it. The in-memory executor mirrors this script.

local lease = tonumber(ARGV[1])
local now = tonumber(ARGV[2])
if not now then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local until_ = string.format('%d', now + lease)
local renewed = 0
for i = 1, #KEYS do
  if redis.call('ZSCORE', KEYS[i], ARGV[2 + i]) then
    redis.call('ZADD', KEYS[i], 'XX', until_, ARGV[2 + i])
    redis.call('PEXPIRE', KEYS[i], string.format('%d', lease + 60000))
    renewed = renewed + 1
  end
end
return renewed
