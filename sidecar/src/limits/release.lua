-- release.lua: free concurrency slots whose settle did not reach Redis; one round trip.
--
-- KEYS    concurrency sets, one per slot
-- ARGV    one reservation id per key
-- Reply   number of slots freed
--
-- Only the slots: a settle that failed may still have applied its token and spend deltas, and
-- applying them twice would count the call twice. ZREM is the same once or twice.

local freed = 0
for i = 1, #KEYS do
  freed = freed + redis.call('ZREM', KEYS[i], ARGV[i])
end
return freed
