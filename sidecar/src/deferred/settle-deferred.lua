-- settle-deferred.lua: replace a deferred call's estimate by its final usage, exactly once.
--
-- KEYS    the deferred entry, the usage hash of the hour it was submitted in, the set of unflushed
--         hours, the usage hash of the current hour, then the spend counters it charged
-- ARGV    submission hour, current hour, spend delta (final - estimate, nano-dollars),
--         recent (1: submitted within the hour, so its own usage write may still be on the way),
--         then pairs of usage field and delta
-- Reply   0: no such entry (settled already, or never deferred); 1: the submission hour was
--         corrected; 2: that hour's counters are gone (flushed and expired), so only increases
--         were counted, in the current hour
--
-- Counters are sums, so adding the delta to the submission hour is exact whatever order the
-- writes land in; the hour goes back into the unflushed set and the operator writes the
-- corrected totals over the ledger row. A spend counter that no longer exists belongs to a
-- period that is over and is left alone, as settle.lua does.

if redis.call('EXISTS', KEYS[1]) == 0 then
  return 0
end
redis.call('DEL', KEYS[1])

local exact = ARGV[4] == '1' or redis.call('EXISTS', KEYS[2]) == 1
local hash, hour = KEYS[2], ARGV[1]
if not exact then
  hash, hour = KEYS[4], ARGV[2]
end
local wrote = false
for i = 5, #ARGV, 2 do
  local delta = tonumber(ARGV[i + 1])
  if delta ~= 0 and (exact or delta > 0) then
    redis.call('HINCRBY', hash, ARGV[i], delta)
    wrote = true
  end
end
if wrote then
  redis.call('SADD', KEYS[3], hour)
end

if ARGV[3] ~= '0' then
  for i = 5, #KEYS do
    if redis.call('EXISTS', KEYS[i]) == 1 and redis.call('INCRBY', KEYS[i], ARGV[3]) < 0 then
      redis.call('SET', KEYS[i], '0', 'KEEPTTL')
    end
  end
end
if exact then
  return 1
end
return 2
