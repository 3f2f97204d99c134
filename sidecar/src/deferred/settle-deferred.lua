-- settle-deferred.lua: replace a deferred call's estimate by its final usage, exactly once.
--
-- KEYS    the deferred entry, the usage hash of the hour it was submitted in, the set of unflushed
--         hours, then the spend counters it charged
-- ARGV    submission hour, spend delta (final - estimate, nano-dollars), then pairs of usage field
--         and value: the correction, as an instance of its own (its fields hold final - estimate)
-- Reply   0: no such entry (settled already, or never deferred); 1: settled
--
-- The correction is set (HSET), never added, in the hour the call was submitted in, and that hour
-- goes back into the unflushed set: the operator keeps every instance's totals of an hour and
-- sums them, so the corrected totals replace the estimate in the ledger even when the hour's
-- other instances have long left Redis. A spend counter that no longer exists belongs to a period
-- that is over and is left alone, as settle.lua does.

if redis.call('EXISTS', KEYS[1]) == 0 then
  return 0
end
redis.call('DEL', KEYS[1])

if #ARGV > 2 then
  redis.call('HSET', KEYS[2], unpack(ARGV, 3))
  redis.call('SADD', KEYS[3], ARGV[1])
end

if ARGV[2] ~= '0' then
  for i = 4, #KEYS do
    if redis.call('EXISTS', KEYS[i]) == 1 and redis.call('INCRBY', KEYS[i], ARGV[2]) < 0 then
      redis.call('SET', KEYS[i], '0', 'KEEPTTL')
    end
  end
end
return 1
