"""The idle and stall clocks of a session, on a clock the test turns by hand."""

from __future__ import annotations

from scenario6.frontend.proxy.liveness import PAUSE_S, Liveness


def _talk(clock: Liveness, start: float, end: float, step: float = 0.08) -> None:
    now = start
    while now <= end:
        clock.sent(now)
        now += step


def test_a_backend_silent_while_audio_flows_is_stalled_after_the_timeout() -> None:
    clock = Liveness(idle_s=30, stall_s=15, now=0.0)
    _talk(clock, 0.0, 14.9)
    assert clock.check(14.9)[0] is None
    _talk(clock, 15.0, 15.1)
    verdict, _ = clock.check(15.1)
    assert verdict is not None and verdict.code == 4503 and "stalled" in verdict.reason


def test_an_answer_resets_the_stall_clock() -> None:
    clock = Liveness(idle_s=30, stall_s=15, now=0.0)
    _talk(clock, 0.0, 10.0)
    clock.answered()
    _talk(clock, 10.08, 20.0)
    assert clock.check(20.0)[0] is None


def test_a_pause_is_no_stall_and_talking_again_starts_a_fresh_stall_clock() -> None:
    clock = Liveness(idle_s=30, stall_s=15, now=0.0)
    clock.sent(0.0)  # less than a frame: upstream will never answer it
    assert clock.check(20.0)[0] is None, "a muted client gets nothing back, and that is fine"
    _talk(clock, 20.0, 21.0)
    assert clock.check(21.0)[0] is None, "one second of audio after a pause is no stall"


def test_a_backend_silent_while_the_client_talks_in_bursts_is_stalled() -> None:
    """Push to talk, or a flaky link: pauses do not count, the talking adds up."""
    clock = Liveness(idle_s=30, stall_s=15, now=0.0)
    now = 0.0
    while clock.check(now)[0] is None:
        assert now < 60, "10 s talk / 2 s pause, never answered: must stall"
        _talk(clock, now, now + 10.0)
        now += 12.0
    assert 15.0 <= now <= 30.0
    bursty = Liveness(idle_s=30, stall_s=15, now=0.0)
    now = 0.0
    while bursty.check(now)[0] is None:
        assert now < 120, "ten frames every 1.2 s, never answered: must stall"
        _talk(bursty, now, now + 0.72)
        now += 1.2


def test_bursts_that_are_answered_never_stall() -> None:
    clock = Liveness(idle_s=30, stall_s=15, now=0.0)
    now = 0.0
    while now < 120:
        _talk(clock, now, now + 0.72)
        clock.answered()
        now += 1.2
        assert clock.check(now)[0] is None


def test_a_client_without_audio_for_the_idle_timeout_is_idle() -> None:
    clock = Liveness(idle_s=30, stall_s=15, now=0.0)
    clock.restart(5.0)
    assert clock.check(34.9)[0] is None
    verdict, _ = clock.check(35.0)
    assert verdict is not None and verdict.code == 4408


def test_the_next_check_is_never_later_than_a_deadline_or_a_pause() -> None:
    clock = Liveness(idle_s=30, stall_s=2, now=0.0)
    _talk(clock, 0.0, 1.5)  # the last frame goes out at 1.44 s
    _, wait = clock.check(1.44)
    assert 0 < wait <= 0.56 + 1e-9, "stall due once 2 s of talking are unanswered"
    _, wait = Liveness(idle_s=0.3, stall_s=15, now=0.0).check(0.0)
    assert wait <= 0.3
    _, wait = Liveness(idle_s=30, stall_s=15, now=0.0).check(0.0)
    assert wait <= PAUSE_S
