"""The revocation store when full: what a sign-out revoked stays revoked."""

from __future__ import annotations

from scenario6.frontend.access.revocations import MemoryRevocations

DAY = 24 * 3600.0


def test_a_full_store_never_makes_a_revoked_cookie_valid_again() -> None:
    """Someone invited signs in and out more times than the store holds, hoping to push an
    old revoked cookie out of it."""
    store = MemoryRevocations(limit=3)
    store.revoke("stolen", issued=1_000, until=1_000 + DAY, now=1_100)
    store.revoke("colleague", issued=1_050, until=1_050 + DAY, now=1_110)
    for n in range(10):
        store.revoke(f"filler-{n}", issued=1_200 + n, until=1_200 + n + DAY, now=1_200 + n)
    assert store.revoked("stolen", 1_000, now=1_300)
    assert store.revoked("colleague", 1_050, now=1_300)
    # Cookies issued up to the newest one dropped are refused: their holders sign in again.
    assert store.revoked("never-revoked", 1_205, now=1_300)
    assert not store.revoked("signed-in-since", 1_250, now=1_300)


def test_expired_revocations_are_forgotten_without_refusing_live_cookies() -> None:
    store = MemoryRevocations(limit=3)
    store.revoke("old", issued=0, until=100.0, now=10.0)
    store.revoke("new", issued=150, until=250.0, now=160.0)  # "old" has expired: forgotten
    assert store.revoked("new", 150, now=170.0)
    assert not store.revoked("live", 120, now=170.0)
    assert not store.revoked("new", 150, now=250.0)
