"""edgegate.policy.buckets: token buckets in integer micro-tokens, LRU-bounded; live count tables.

Clocks are fake: every time is a tick value built with ``ticks_add`` from a
base, so the same arithmetic holds on MicroPython, whose ticks wrap.
"""

from edgegate.policy.buckets import BucketTable, CountTable
from edgegate.rt import ticks_add
from tests.portable import TestCase

T0 = 50000


def at(ms, base=T0):
    return ticks_add(base, ms)


def takes(t, key, now, n):
    """How many of n takes at ``now`` succeed."""
    ok = 0
    for _ in range(n):
        if t.take(key, now):
            ok += 1
    return ok


class BurstTests(TestCase):
    def test_a_new_key_starts_with_a_full_burst(self):
        t = BucketTable(10, 1, 5, 100)
        self.assertEqual(takes(t, "a", T0, 8), 5)
        self.assertFalse(t.take("a", T0))

    def test_keys_have_separate_buckets(self):
        t = BucketTable(1, 1, 2, 100)
        self.assertEqual(takes(t, "a", T0, 3), 2)
        self.assertEqual(takes(t, "b", T0, 3), 2)
        self.assertEqual(len(t), 2)

    def test_a_refused_take_costs_nothing(self):
        # 10 per s: a token every 100 ms; hammering while empty does not push it back.
        t = BucketTable(10, 1, 1, 100)
        self.assertTrue(t.take("a", T0))
        for ms in range(0, 100, 5):
            self.assertFalse(t.take("a", at(ms)))
        self.assertTrue(t.take("a", at(100)))

    def test_idle_time_refills_no_more_than_the_burst(self):
        t = BucketTable(10, 1, 3, 100)
        self.assertEqual(takes(t, "a", T0, 3), 3)
        self.assertEqual(takes(t, "a", at(3600 * 1000), 10), 3)

    def test_parameters_must_be_positive(self):
        for args in ((0, 1, 1, 1), (1, 0, 1, 1), (1, 1, 0, 1), (1, 1, 1, 0), (-1, 1, 1, 1)):
            with self.subTest(args=args):
                with self.assertRaises(ValueError):
                    BucketTable(*args)


class RefillTests(TestCase):
    def test_ten_per_second_is_one_token_per_100_ms(self):
        t = BucketTable(10, 1, 1, 100)
        self.assertTrue(t.take("a", T0))
        self.assertFalse(t.take("a", at(99)))
        self.assertTrue(t.take("a", at(100)))
        self.assertFalse(t.take("a", at(199)))
        self.assertTrue(t.take("a", at(200)))

    def test_partial_refills_accumulate(self):
        # Tokens are micro-tokens: 4 looks 30 ms apart add up to the 100 ms a token takes.
        t = BucketTable(10, 1, 1, 100)
        self.assertTrue(t.take("a", T0))
        self.assertFalse(t.take("a", at(30)))
        self.assertFalse(t.take("a", at(60)))
        self.assertFalse(t.take("a", at(90)))
        self.assertTrue(t.take("a", at(120)))

    def test_rate_per_minute_without_floats(self):
        # 10 per 60 s: one token per 6 s, never sooner (integer rounding errs slow,
        # by under 1 %).
        t = BucketTable(10, 60, 1, 100)
        self.assertTrue(t.take("a", T0))
        self.assertFalse(t.take("a", at(6000)))
        self.assertTrue(t.take("a", at(6050)))

    def test_one_per_100_seconds(self):
        t = BucketTable(1, 100, 1, 100)
        self.assertTrue(t.take("a", T0))
        self.assertFalse(t.take("a", at(99999)))
        self.assertTrue(t.take("a", at(100000)))

    def test_fast_rates(self):
        # 1000 per s: a token per ms; a burst of 1000 refilled in one second.
        t = BucketTable(1000, 1, 1000, 10)
        self.assertEqual(takes(t, "a", T0, 1001), 1000)
        self.assertEqual(takes(t, "a", at(1), 5), 1)
        self.assertEqual(takes(t, "a", at(1001), 2000), 1000)

    def test_steady_rate_over_a_minute(self):
        # 5 per s with burst 5, one attempt every 10 ms for 60 s: 5 + 5 * 60 allowed.
        t = BucketTable(5, 1, 5, 10)
        ok = 0
        for ms in range(0, 60001, 10):
            if t.take("a", at(ms)):
                ok += 1
        self.assertEqual(ok, 5 + 5 * 60)

    def test_refill_across_the_tick_wrap(self):
        base = ticks_add(0, -50)  # 50 ms before the wrap on MicroPython
        t = BucketTable(10, 1, 1, 100)
        self.assertTrue(t.take("a", base))
        self.assertFalse(t.take("a", ticks_add(base, 99)))
        self.assertTrue(t.take("a", ticks_add(base, 100)))


class RetryAfterTests(TestCase):
    def test_unknown_or_ready_key_says_one_second(self):
        t = BucketTable(1, 10, 2, 100)
        self.assertEqual(t.retry_after_s("nobody"), 1)
        self.assertTrue(t.take("a", T0))
        self.assertEqual(t.retry_after_s("a"), 1)

    def test_whole_seconds_until_the_next_token(self):
        # 1 per 10 s: empty at T0, 3 s later 7 s are still to wait.
        t = BucketTable(1, 10, 1, 100)
        self.assertTrue(t.take("a", T0))
        self.assertEqual(t.retry_after_s("a"), 10)
        self.assertFalse(t.take("a", at(3000)))
        self.assertEqual(t.retry_after_s("a"), 7)
        self.assertFalse(t.take("a", at(9500)))
        self.assertEqual(t.retry_after_s("a"), 1)  # 500 ms, rounded up
        self.assertTrue(t.take("a", at(10000)))

    def test_rounded_up_never_zero(self):
        t = BucketTable(100, 1, 1, 100)
        self.assertTrue(t.take("a", T0))
        self.assertFalse(t.take("a", at(1)))
        self.assertEqual(t.retry_after_s("a"), 1)

    def test_waiting_retry_after_is_enough(self):
        for tokens, per_s in ((1, 10), (10, 60), (3, 7), (1, 1), (20, 1)):
            with self.subTest(tokens=tokens, per_s=per_s):
                t = BucketTable(tokens, per_s, 1, 100)
                self.assertTrue(t.take("a", T0))
                self.assertFalse(t.take("a", at(1)))
                wait = t.retry_after_s("a")
                self.assertTrue(t.take("a", at(1 + wait * 1000)))


class LruTests(TestCase):
    def test_a_new_key_in_a_full_table_evicts_the_least_recently_used(self):
        t = BucketTable(1, 60, 1, 3)
        for k in ("a", "b", "c"):
            self.assertTrue(t.take(k, T0))
        self.assertFalse(t.take("a", at(1)))  # "a" used again: "b" is now the oldest
        self.assertTrue(t.take("d", at(2)))
        self.assertEqual((len(t), t.evictions), (3, 1))
        # "a", "c", "d" kept their empty buckets; "b" was forgotten (it comes back full).
        self.assertFalse(t.take("a", at(3)))
        self.assertFalse(t.take("c", at(4)))
        self.assertFalse(t.take("d", at(5)))
        self.assertTrue(t.take("b", at(6)))  # evicts "a", the oldest now
        self.assertEqual((len(t), t.evictions), (3, 2))
        self.assertTrue(t.take("a", at(7)))

    def test_a_refused_take_counts_as_use(self):
        t = BucketTable(1, 60, 1, 2)
        t.take("a", T0)
        t.take("b", T0)
        self.assertFalse(t.take("a", at(1)))
        t.take("c", at(2))  # evicts b, not a
        self.assertFalse(t.take("a", at(3)))
        self.assertTrue(t.take("b", at(4)))

    def test_a_flood_of_distinct_keys_keeps_the_table_at_max_entries(self):
        t = BucketTable(20, 1, 40, 256)
        for i in range(5000):
            t.take("10.%d.%d.%d" % (i >> 16, (i >> 8) & 255, i & 255), at(i // 10))
            self.assertTrue(len(t) <= 256)
        self.assertEqual(len(t), 256)
        self.assertEqual(t.evictions, 5000 - 256)

    def test_a_busy_key_survives_a_flood(self):
        # A key used between flood keys stays most recently used: its bucket is never reset.
        t = BucketTable(1, 60, 2, 8)
        self.assertTrue(t.take("busy", T0))
        self.assertTrue(t.take("busy", T0))
        for i in range(100):
            t.take("flood%d" % i, T0)
            self.assertFalse(t.take("busy", T0))
        self.assertEqual(len(t), 8)

    def test_one_entry_table(self):
        t = BucketTable(1, 60, 1, 1)
        self.assertTrue(t.take("a", T0))
        self.assertTrue(t.take("b", T0))
        self.assertTrue(t.take("a", T0))
        self.assertEqual((len(t), t.evictions), (1, 2))


class CountTableTests(TestCase):
    def test_add_count_remove(self):
        t = CountTable(4)
        self.assertEqual(t.count("a"), 0)
        self.assertTrue(t.add("a"))
        self.assertTrue(t.add("a"))
        self.assertTrue(t.add("b"))
        self.assertEqual((t.count("a"), t.count("b"), len(t)), (2, 1, 2))
        t.remove("a")
        self.assertEqual((t.count("a"), len(t)), (1, 2))

    def test_a_key_back_at_zero_is_dropped(self):
        t = CountTable(4)
        t.add("a")
        t.add("a")
        t.remove("a")
        t.remove("a")
        self.assertEqual((t.count("a"), len(t)), (0, 0))

    def test_removing_an_absent_key_changes_nothing(self):
        t = CountTable(2)
        t.add("a")
        t.remove("zzz")
        t.remove("zzz")
        self.assertEqual((t.count("zzz"), t.count("a"), len(t)), (0, 1, 1))

    def test_a_full_table_refuses_new_keys_but_not_known_ones(self):
        t = CountTable(2)
        self.assertTrue(t.add("a"))
        self.assertTrue(t.add("b"))
        self.assertIs(t.add("c"), False)
        self.assertEqual((t.count("c"), len(t)), (0, 2))
        self.assertTrue(t.add("a"))  # a live key still counts up
        self.assertEqual(t.count("a"), 2)

    def test_a_refused_key_gets_in_once_a_slot_frees(self):
        t = CountTable(2)
        t.add("a")
        t.add("b")
        self.assertFalse(t.add("c"))
        t.remove("b")
        self.assertTrue(t.add("c"))
        self.assertFalse(t.add("b"))

    def test_never_evicts_a_live_count(self):
        t = CountTable(3)
        for k in ("a", "b", "c"):
            t.add(k)
        for i in range(1000):
            self.assertFalse(t.add("x%d" % i))
        self.assertEqual([t.count(k) for k in ("a", "b", "c")], [1, 1, 1])
        self.assertEqual(len(t), 3)
