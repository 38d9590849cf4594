"""A one-minute soak: 50 sessions at the real cadence through a frontend process."""

from __future__ import annotations

import pytest

from scenario6.bench.soak import measure

pytestmark = pytest.mark.slow  # a minute; the proxy's paths are the fast tier's too


def test_a_minute_of_fifty_sessions_drops_nothing_and_leaks_nothing() -> None:
    report = measure(seconds=60)
    print(report)
    assert report.dropped_sessions == 0, report.drop_reasons
    assert report.messages_echoed >= 0.99 * report.messages_sent
    assert report.fd_growth <= 0, "descriptors grew while the sessions ran"
    assert report.fds_idle_after <= report.fds_idle_before, "descriptors leaked"
    # RSS growth under 5 % is the benchmark's target; this bound only catches a leak.
    assert report.rss_growth_percent < 50
