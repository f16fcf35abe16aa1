"""The Lua scripts RedisCoordinator runs on the server (one round trip each, atomic)."""

# KEYS[1] sorted set of hit times (microseconds, Redis server clock so all instances agree).
# ARGV: window_us, limit, member suffix, record (1 = hit, 0 = peek).
# Returns {allowed, count, retry_us}.
SLIDING_WINDOW = """
local key = KEYS[1]
local window = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
local count = redis.call('ZCARD', key)
if count < limit then
  if ARGV[4] == '1' then
    redis.call('ZADD', key, now, t[1] .. '.' .. t[2] .. ':' .. ARGV[3])
    redis.call('PEXPIRE', key, math.ceil(window / 1000) + 1)
    return {1, count + 1, 0}
  end
  return {1, count, 0}
end
local edge = redis.call('ZRANGE', key, count - limit, count - limit, 'WITHSCORES')
return {0, count, tonumber(edge[2]) + window - now}
"""

# KEYS[1] the time (microseconds, server clock) the next slot is free; ARGV[1] interval_us.
RESERVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local free = tonumber(redis.call('GET', KEYS[1]) or '0')
local start = math.max(now, free)
local after = start + tonumber(ARGV[1])
local ttl = math.ceil((after - now) / 1000) + 1000
redis.call('SET', KEYS[1], string.format('%d', after), 'PX', ttl)
return start - now
"""

# KEYS[1] the next free slot of the schedule, KEYS[2] sorted set of places: token -> the time
# it is free again (microseconds, server clock). ARGV: interval_us, limit, flight_us,
# horizon_us, token. The slot is the first one after the schedule's last at which fewer than
# `limit` places are still held. Returns {booked, wait_us}.
BOOK = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local limit = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
local start = math.max(now, tonumber(redis.call('GET', KEYS[1]) or '0'))
local held = redis.call('ZCARD', KEYS[2])
if held >= limit then
  local edge = redis.call('ZRANGE', KEYS[2], held - limit, held - limit, 'WITHSCORES')
  start = math.max(start, tonumber(edge[2]))
end
if start - now > tonumber(ARGV[4]) then
  return {0, start - now}
end
local flight = tonumber(ARGV[3])
redis.call('ZADD', KEYS[2], start + flight, ARGV[5])
redis.call('PEXPIRE', KEYS[2], math.ceil((start + flight - now) / 1000) + 1000)
local after = start + tonumber(ARGV[1])
local ttl = math.ceil((after - now) / 1000) + 1000
redis.call('SET', KEYS[1], string.format('%d', after), 'PX', ttl)
return {1, start - now}
"""

# KEYS[1] as above; ARGV: token, hold_us (0 or less: free it).
SETTLE = """
if tonumber(ARGV[2]) <= 0 then
  return redis.call('ZREM', KEYS[1], ARGV[1])
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
return redis.call('ZADD', KEYS[1], 'XX', now + tonumber(ARGV[2]), ARGV[1])
"""

RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""

RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""
