-- feed-append.lua: appends a batch of events to a tenant's live feed in one call
-- (RedisFeedPublisher). KEYS[1]: the feed; ARGV[1]: MAXLEN ~ of the stream; ARGV[2..]: each
-- event's field and value (feedEntry), one stream entry per event, as separate XADDs would.
for i = 2, #ARGV, 2 do
  redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', ARGV[i], ARGV[i + 1])
end
return (#ARGV - 1) / 2
