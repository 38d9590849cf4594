"""The pause after Redis comes back empty, shared by every script that counts leases.

A Redis restarted without persistence (or flushed) has lost the leases of the sessions
still running: the slots they hold, and the sessions each client has. Every replica writes
its own back within a lease TTL, so for one TTL after such a start nothing is counted
against them: no slot is booked and no client is admitted, lest a count found short be
filled twice.
"""

from __future__ import annotations

# KEYS[BOOTED] is a marker that lives as long as Redis's data, KEYS[FENCE] the pause; ARGV[3]
# is the lease TTL in ms. Sets ``paused``.
LUA = """
local paused = false
if redis.call('EXISTS', KEYS[{booted}]) == 0 then
  redis.call('SET', KEYS[{booted}], '1')
  redis.call('SET', KEYS[{fence}], '1', 'PX', ARGV[3])
end
if redis.call('EXISTS', KEYS[{fence}]) == 1 then
  paused = true
end
"""
NAMES = ("booted", "fence")  # their keys, after the frontends' prefix


def lua(booted: int, fence: int) -> str:
    """The check, for a script whose KEYS hold the marker and the pause at these places."""
    return LUA.format(booted=booted, fence=fence)
