"""edgegate.ws.buffer.Lender: rings lent within shares, readers stopped and woken, with fake streams and clock.

A ``FakeStream`` does what ``rt.net.Stream`` does with its lender (join, lend
on arrival, give back when parsed or when it ends, establish, leave) and
records whether it is stopped (``_starve``) or reading (``_feed``).
"""

from edgegate.ws.buffer import Lender, RingPool, RxBuffer
from tests.portable import TestCase


class Clock:
    def __init__(self, t=1000):
        self.t = t

    def __call__(self):
        return self.t


class FakeStream:
    def __init__(self, lender, addr="10.0.0.1", established=True):
        self.lender = lender
        self.addr = addr
        self.established = established
        self.since = None
        self.rx = None
        self.closed = False
        self.starved = False
        lender.joined(self)

    # -- what the lender calls --
    def _starve(self):
        self.starved = True

    def _feed(self):
        self.starved = False

    # -- what a stream does --
    def arrive(self):
        """Bytes arrived: take a ring if none is held (as get_buffer does)."""
        if self.rx is None:
            self.rx = self.lender.lend(self)
        return self.rx

    def parsed(self):
        """Everything in the ring was parsed: give it back (as release_rx does)."""
        rx, self.rx = self.rx, None
        self.lender.give_back(self, rx)

    def reset(self):
        """The connection ended (RST, close, abort) with bytes still in the ring (as connection_lost does)."""
        self.closed = True
        if self.rx is not None:
            self.rx.write(b"unparsed")
            self.parsed()
        self.lender.left(self)

    def establish(self):
        self.lender.establish(self)


def lender(rings=4, per_ip=0, heads=0, clock=None):
    pool = RingPool(64, rings)
    return Lender(pool, per_ip, heads, clock or Clock()), pool


class PoolTests(TestCase):
    """The pool bound: when no ring is left every idle stream stops; a ring that returns wakes them."""

    def test_an_empty_pool_stops_every_idle_stream_and_no_holder(self):
        ln, pool = lender(rings=2)
        a, b, c, d = (FakeStream(ln, "10.0.0.%d" % i) for i in range(4))
        a.arrive()
        self.assertFalse(c.starved)
        b.arrive()
        self.assertEqual(pool.available, 0)
        self.assertTrue(ln.starved)
        self.assertEqual((a.starved, b.starved, c.starved, d.starved), (False, False, True, True))

    def test_a_stream_joining_while_the_pool_is_empty_is_stopped_at_once(self):
        ln, _ = lender(rings=1)
        FakeStream(ln).arrive()
        late = FakeStream(ln, "10.0.0.9")
        self.assertTrue(late.starved)

    def test_a_ring_given_back_by_an_open_stream_wakes_the_idle_ones(self):
        ln, pool = lender(rings=2)
        a, b, c = (FakeStream(ln, "10.0.0.%d" % i) for i in range(3))
        a.arrive()
        b.arrive()
        self.assertTrue(c.starved)
        a.parsed()
        self.assertEqual(pool.available, 1)
        self.assertFalse(ln.starved)
        self.assertEqual((a.starved, c.starved), (False, False))
        self.assertIn(a, ln.idle[a.addr])  # open: idle again, may read

    def test_a_ring_given_back_by_a_closed_stream_wakes_the_idle_ones(self):
        # Issue 10: a reset stream's ring came back but nobody was woken, so the box stalled.
        ln, pool = lender(rings=2)
        a, b, c = (FakeStream(ln, "10.0.0.%d" % i) for i in range(3))
        a.arrive()
        b.arrive()
        self.assertTrue(c.starved)
        a.reset()
        self.assertEqual((pool.available, pool.lent), (1, 1))
        self.assertFalse(c.starved)
        self.assertFalse(ln.starved)
        self.assertFalse(a.addr in ln.idle)  # closed: gone from the idle sets
        self.assertFalse(a in ln.holders)
        self.assertEqual(ln.held_by(a.addr), 0)

    def test_a_new_pool_with_free_rings_wakes_the_stopped_streams(self):
        ln, _ = lender(rings=1)
        FakeStream(ln).arrive()
        waiting = FakeStream(ln, "10.0.0.2")
        self.assertTrue(waiting.starved)
        ln.set_pool(RingPool(64, 4))
        self.assertFalse(waiting.starved)

    def test_a_ring_from_the_old_pool_goes_back_to_the_old_pool(self):
        ln, old = lender(rings=2)
        a = FakeStream(ln)
        a.arrive()
        new = RingPool(64, 2)
        ln.set_pool(new)
        a.parsed()
        self.assertEqual((old.lent, new.lent), (0, 0))

    def test_backend_streams_are_bound_by_the_pool_only(self):
        ln, _ = lender(rings=3, per_ip=1, heads=1)
        b1, b2 = FakeStream(ln, None), FakeStream(ln, None)
        b1.arrive()
        self.assertFalse(b2.starved)  # no address share for addr None
        b2.arrive()
        self.assertEqual(ln.holders, set())  # the reaper never reclaims the gateway's own streams
        self.assertEqual(ln.held, {})
        third = FakeStream(ln, None)
        third.arrive()
        fourth = FakeStream(ln, None)
        self.assertTrue(fourth.starved)  # the pool bound holds for them too


class AddressShareTests(TestCase):
    """per_ip: one address holds at most this many rings; its idle streams stop while it does."""

    def test_an_address_at_its_share_stops_only_its_own_idle_streams(self):
        ln, pool = lender(rings=8, per_ip=2)
        a1, a2, a3 = (FakeStream(ln, "10.0.0.1") for _ in range(3))
        other = FakeStream(ln, "10.0.0.2")
        a1.arrive()
        self.assertFalse(a3.starved)
        a2.arrive()
        self.assertEqual(ln.held_by("10.0.0.1"), 2)
        self.assertIn("10.0.0.1", ln.full)
        self.assertTrue(a3.starved)
        self.assertFalse(other.starved)
        self.assertTrue(pool.available > 0)
        late = FakeStream(ln, "10.0.0.1")
        self.assertTrue(late.starved)

    def test_a_ring_back_below_the_share_wakes_the_address(self):
        ln, _ = lender(rings=8, per_ip=2)
        a1, a2, a3 = (FakeStream(ln, "10.0.0.1") for _ in range(3))
        a1.arrive()
        a2.arrive()
        self.assertTrue(a3.starved)
        a1.parsed()
        self.assertEqual(ln.held_by("10.0.0.1"), 1)
        self.assertFalse("10.0.0.1" in ln.full)
        self.assertEqual((a1.starved, a3.starved), (False, False))

    def test_a_closed_stream_releases_its_address_share(self):
        ln, _ = lender(rings=8, per_ip=1)
        a1, a2 = FakeStream(ln, "10.0.0.1"), FakeStream(ln, "10.0.0.1")
        a1.arrive()
        self.assertTrue(a2.starved)
        a1.reset()
        self.assertFalse(a2.starved)
        self.assertEqual(ln.held, {})

    def test_new_shares_apply_as_rings_are_next_lent(self):
        ln, _ = lender(rings=8, per_ip=4)
        a1, a2 = FakeStream(ln, "10.0.0.1"), FakeStream(ln, "10.0.0.1")
        ln.set_shares(1, 0)
        a1.arrive()
        self.assertTrue(a2.starved)
        self.assertEqual(ln.heads, 8)  # 0: the whole pool


class HeadsShareTests(TestCase):
    """heads: streams not yet upgraded hold at most this many rings together."""

    def test_unfinished_heads_at_their_share_stop_only_unfinished_streams(self):
        ln, pool = lender(rings=8, heads=2)
        h1, h2, h3 = (FakeStream(ln, "10.0.1.%d" % i, established=False) for i in range(3))
        session = FakeStream(ln, "10.0.2.1")
        h1.arrive()
        h2.arrive()
        self.assertEqual(ln.heads_held, 2)
        self.assertTrue(ln.heads_full)
        self.assertTrue(h3.starved)
        self.assertFalse(session.starved)
        self.assertEqual(pool.available, 6)
        session.arrive()  # established sessions still get rings
        self.assertEqual(ln.heads_held, 2)

    def test_establish_moves_a_held_ring_out_of_the_heads_share(self):
        ln, _ = lender(rings=8, heads=2)
        h1, h2, h3 = (FakeStream(ln, "10.0.1.%d" % i, established=False) for i in range(3))
        h1.arrive()
        h2.arrive()
        self.assertTrue(h3.starved)
        h1.establish()
        self.assertTrue(h1.established)
        self.assertEqual(ln.heads_held, 1)
        self.assertFalse(ln.heads_full)
        self.assertFalse(h3.starved)
        h1.parsed()  # its ring no longer counts as a head's when it comes back
        self.assertEqual(ln.heads_held, 1)
        self.assertFalse(h1 in ln.idle_heads)

    def test_establishing_an_idle_stopped_head_lets_it_read(self):
        ln, _ = lender(rings=8, heads=1)
        h1, h2 = FakeStream(ln, "10.0.1.1", established=False), FakeStream(ln, "10.0.1.2", established=False)
        h1.arrive()
        self.assertTrue(h2.starved)
        h2.establish()
        self.assertFalse(h2.starved)
        self.assertEqual(ln.heads_held, 1)
        self.assertFalse(h2 in ln.idle_heads)

    def test_establish_twice_counts_once(self):
        ln, _ = lender(rings=8, heads=2)
        h = FakeStream(ln, "10.0.1.1", established=False)
        h.arrive()
        h.establish()
        h.establish()
        self.assertEqual(ln.heads_held, 0)

    def test_a_head_given_back_releases_the_heads_share(self):
        ln, _ = lender(rings=8, heads=1)
        h1, h2 = FakeStream(ln, "10.0.1.1", established=False), FakeStream(ln, "10.0.1.2", established=False)
        h1.arrive()
        self.assertTrue(h2.starved)
        h1.reset()
        self.assertEqual((ln.heads_held, ln.heads_full, h2.starved), (0, False, False))


class HoldersAndOverflowTests(TestCase):
    """since (from the clock) and holders let the reaper reclaim rings; overflow buffers are counted."""

    def test_since_is_the_clock_when_the_ring_was_lent(self):
        clock = Clock(5000)
        ln, _ = lender(clock=clock)
        a = FakeStream(ln)
        a.arrive()
        self.assertEqual(a.since, 5000)
        self.assertEqual(ln.holders, {a})
        clock.t = 9000
        a.arrive()  # still holding: not lent again, since unchanged
        self.assertEqual(a.since, 5000)
        a.parsed()
        self.assertEqual(ln.holders, set())
        a.arrive()
        self.assertEqual(a.since, 9000)

    def test_a_read_past_the_empty_pool_gets_an_overflow_buffer_counted_until_it_returns(self):
        clock = Clock(7)
        ln, pool = lender(rings=1, clock=clock)
        a, b = FakeStream(ln, "10.0.0.1"), FakeStream(ln, "10.0.0.2")
        a.arrive()
        self.assertTrue(b.starved)
        rx = b.arrive()  # the loop had polled b's read before it was stopped
        self.assertIsInstance(rx, RxBuffer)
        self.assertIsNone(rx.owner)
        self.assertEqual(rx.size, pool.ring_bytes)
        self.assertEqual((ln.overflow, pool.lent), (1, 1))
        self.assertFalse(b.starved)  # a stream with a buffer is never stopped for want of one
        self.assertIn(b, ln.holders)
        self.assertEqual(b.since, 7)
        self.assertEqual(ln.held_by("10.0.0.2"), 0)  # not a pool ring: no share counted
        b.parsed()
        self.assertEqual((ln.overflow, pool.lent), (0, 1))
        self.assertFalse(b in ln.holders)
        self.assertTrue(b.starved)  # back to idle, and the pool is still empty

    def test_an_overflow_buffer_of_a_reset_stream_is_uncounted(self):
        ln, _ = lender(rings=1)
        FakeStream(ln, "10.0.0.1").arrive()
        b = FakeStream(ln, "10.0.0.2")
        b.arrive()
        b.reset()
        self.assertEqual(ln.overflow, 0)
        self.assertFalse(b in ln.holders)


class _Lcg:
    """A tiny deterministic generator (the same sequence on both interpreters)."""

    def __init__(self, seed):
        self.x = seed

    def below(self, n):
        self.x = (self.x * 1103515245 + 12345) & 0x7FFFFFFF
        return (self.x >> 8) % n


class InvariantTests(TestCase):
    """Random lives of many streams: the books always balance and exactly the blocked idle streams are stopped."""

    def check(self, ln, pool, streams):
        live = [s for s in streams if not s.closed]
        pooled = [s for s in live if s.rx is not None and s.rx.owner is not None]
        self.assertEqual(pool.lent, len(pooled))
        self.assertEqual(ln.overflow, len([s for s in live if s.rx is not None and s.rx.owner is None]))
        by_addr = {}
        for s in pooled:
            if s.addr is not None:
                by_addr[s.addr] = by_addr.get(s.addr, 0) + 1
        self.assertEqual(ln.held, by_addr)
        self.assertEqual(ln.heads_held, len([s for s in pooled if s.addr is not None and not s.established]))
        self.assertEqual(ln.holders, set(s for s in live if s.rx is not None and s.addr is not None))
        for s in live:
            blocked = s.rx is None and (pool.available == 0 or (s.addr is not None and (
                ln.held.get(s.addr, 0) >= ln.per_ip or (not s.established and ln.heads_held >= ln.heads))))
            self.assertEqual(s.starved, blocked)

    def test_random_lives_keep_the_books(self):
        for seed in (1, 2, 3, 4, 5):
            with self.subTest(seed=seed):
                rnd = _Lcg(seed)
                ln, pool = lender(rings=6, per_ip=3, heads=3)
                addrs = ("10.0.0.1", "10.0.0.2", "10.0.0.3", None)
                streams = []
                for _ in range(1000):
                    live = [s for s in streams if not s.closed]
                    op = rnd.below(6)
                    if op == 0 or not live:
                        streams.append(FakeStream(ln, addrs[rnd.below(4)], established=rnd.below(3) == 0))
                    else:
                        s = live[rnd.below(len(live))]
                        if op == 1:  # a read: only a stream that is not stopped
                            if not s.starved or s.rx is not None:
                                s.arrive()
                        elif op == 2:  # sometimes the loop delivers a read polled before the stop
                            if not s.starved or s.rx is not None or rnd.below(8) == 0:
                                s.arrive()
                        elif op == 3:
                            if s.rx is not None:
                                s.parsed()
                        elif op == 4:
                            s.establish()
                        else:
                            s.reset()
                    self.check(ln, pool, streams)
                for s in streams:
                    if not s.closed:
                        s.reset()
                self.assertEqual((pool.lent, ln.overflow, ln.heads_held, ln.held, ln.holders), (0, 0, 0, {}, set()))
                self.assertEqual(ln.idle, {})
