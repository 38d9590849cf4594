"""The states a resource passes through in run mode, and their names in Aspire's dashboard."""

from __future__ import annotations

# What the supervisor sets on a resource (``Tracked.state``).
BUILDING = "building"
WAITING = "waiting"
STARTING = "starting"
RUNNING = "running"
RESTARTING = "restarting"
STOPPING = "stopping"
STOPPED = "stopped"
FAILED = "failed"
# Shown, never set: a running resource whose probes fail, or one that ended on its own.
UNHEALTHY = "unhealthy"
EXITED = "exited"

# Aspire's resource-state names (case-sensitive, as its dashboard knows them).
ASPIRE_STATES = {
    BUILDING: "Building",
    WAITING: "Waiting",
    STARTING: "Starting",
    RUNNING: "Running",
    UNHEALTHY: "RuntimeUnhealthy",
    RESTARTING: "Starting",
    EXITED: "Exited",
    STOPPING: "Stopping",
    STOPPED: "Exited",
    FAILED: "FailedToStart",
}
NOT_STARTED = "NotStarted"
# What may be asked of one resource while the app runs (the control API's commands).
COMMANDS = ("start", "stop", "restart", "rebuild")
FINISHED = "Finished"  # Aspire's name for an exit with code 0


def aspire_state(state: str, exit_code: int | None = None, started: bool = True) -> str:
    """Aspire's name for ``state``.

    >>> aspire_state(UNHEALTHY), aspire_state(RESTARTING, -9), aspire_state(WAITING, started=False)
    ('RuntimeUnhealthy', 'Exited', 'NotStarted')
    """
    if state == WAITING and not started:
        return NOT_STARTED
    if state == RESTARTING and exit_code is not None:
        return ASPIRE_STATES[EXITED]  # it ended; the restart has not begun yet
    if state in (EXITED, STOPPED) and exit_code == 0:
        return FINISHED
    return ASPIRE_STATES.get(state, "Unknown")
