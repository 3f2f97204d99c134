-- cache-store.lua: writes the cache entries of one tenant in one call (RedisEntryWriter).
-- KEYS[i]: an entry's key (one tenant's keys share a hash slot); ARGV[2i-1]: the entry as
-- encodeEntry wrote it; ARGV[2i]: its time to live in milliseconds.
for i = 1, #KEYS do
  redis.call('SET', KEYS[i], ARGV[2 * i - 1], 'PX', ARGV[2 * i])
end
return #KEYS
