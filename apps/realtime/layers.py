"""The Redis channel layer, with its blocking read shorter than the Redis client's,
and a bulk check for listeners.

channels-redis waits for a consumer's messages with BZPOPMIN for `brpop_timeout` (5 s)
and redis-py 8 gives up reading a reply after its default socket timeout, also 5 s:
the read raced the server's empty answer and lost, closing every WebSocket that heard
nothing for 5 s with 1011. Waiting 2 s per BZPOPMIN leaves the client's timeout (still
there to notice a dead Redis) well clear. tests/apps/realtime/test_idle_connection.py.
"""

import collections
import time

from channels_redis.core import RedisChannelLayer


class ChannelLayer(RedisChannelLayer):
    brpop_timeout = 2

    async def groups_with_members(self, groups: list[str]) -> set[str]:
        """Which of these groups have anyone in them. `group_send` spends two round trips
        per group to find out; a bulk sender (dose reminders: one group per user, most of
        them not connected) asks for all of them in one pipeline per Redis connection
        and sends only to those."""
        by_connection = collections.defaultdict(list)
        for group in groups:
            assert self.require_valid_group_name(group), "Group name not valid"
            by_connection[self.consistent_hash(group)].append(group)
        oldest = int(time.time()) - self.group_expiry
        found = set()
        for index, names in by_connection.items():
            pipe = self.connection(index).pipeline(transaction=False)
            for group in names:
                # Members not yet expired: group_send drops those at or below `oldest`.
                pipe.zcount(self._group_key(group), f"({oldest}", "+inf")
            counts = await pipe.execute()
            found.update(group for group, count in zip(names, counts) if count)
        return found
