"""The Redis channel layer, with its blocking read shorter than the Redis client's.

channels-redis waits for a consumer's messages with BZPOPMIN for `brpop_timeout` (5 s)
and redis-py 8 gives up reading a reply after its default socket timeout, also 5 s:
the read raced the server's empty answer and lost, closing every WebSocket that heard
nothing for 5 s with 1011. Waiting 2 s per BZPOPMIN leaves the client's timeout (still
there to notice a dead Redis) well clear. tests/apps/realtime/test_idle_connection.py.
"""

from channels_redis.core import RedisChannelLayer


class ChannelLayer(RedisChannelLayer):
    brpop_timeout = 2
