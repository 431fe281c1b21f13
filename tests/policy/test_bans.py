"""edgegate.policy.bans: a fixed-size ban table with expiry, eviction and wraparound-safe ticks."""

from edgegate.policy.bans import BanTable
from edgegate.rt import ticks_add
from tests.portable import TestCase

T0 = 10000


class BanTests(TestCase):
    def test_ban_refuses_the_address_until_its_expiry(self):
        t = BanTable(4)
        t.ban("10.0.0.1", T0 + 1000, "console", T0)
        self.assertTrue(t.banned("10.0.0.1", T0))
        self.assertTrue(t.banned("10.0.0.1", T0 + 999))
        self.assertFalse(t.banned("10.0.0.1", T0 + 1000))
        self.assertEqual(len(t), 0)

    def test_other_addresses_are_not_banned(self):
        t = BanTable(4)
        t.ban("10.0.0.1", T0 + 1000, "console", T0)
        self.assertFalse(t.banned("10.0.0.2", T0))
        self.assertFalse(t.banned("10.0.0.10", T0))

    def test_ban_again_replaces_the_expiry_and_reason(self):
        t = BanTable(2)
        t.ban("a", T0 + 1000, "first", T0)
        t.ban("a", T0 + 5000, "second", T0)
        self.assertEqual(t.entries(T0), [("a", 5000, "second")])
        t.ban("a", T0 + 10, "third", T0)
        self.assertFalse(t.banned("a", T0 + 10))
        self.assertEqual(t.evictions, 0)

    def test_ban_in_the_past_expires_at_once(self):
        t = BanTable(2)
        t.ban("a", T0 - 1, "late", T0)
        self.assertFalse(t.banned("a", T0))
        self.assertEqual(t.entries(T0), [])

    def test_unban_lifts_a_ban(self):
        t = BanTable(2)
        t.ban("a", T0 + 1000, "console", T0)
        self.assertIs(t.unban("a"), True)
        self.assertFalse(t.banned("a", T0))
        self.assertIs(t.unban("a"), False)
        self.assertIs(t.unban("never"), False)

    def test_max_entries_must_be_positive(self):
        for n in (0, -1):
            with self.subTest(n=n):
                with self.assertRaises(ValueError) as cm:
                    BanTable(n)
                self.assertEqual(str(cm.exception), "max_entries must be > 0")


class FixedSizeTests(TestCase):
    """The table never grows past max_entries: a full table evicts the ban ending soonest."""

    def test_full_table_evicts_the_soonest_expiring_ban(self):
        t = BanTable(3)
        t.ban("late", T0 + 3000, "r", T0)
        t.ban("soon", T0 + 1000, "r", T0)
        t.ban("mid", T0 + 2000, "r", T0)
        t.ban("new", T0 + 500, "r", T0)
        self.assertEqual(len(t), 3)
        self.assertEqual(t.evictions, 1)
        self.assertFalse(t.banned("soon", T0))
        for a in ("late", "mid", "new"):
            with self.subTest(addr=a):
                self.assertTrue(t.banned(a, T0))

    def test_size_stays_fixed_under_many_bans(self):
        t = BanTable(8)
        for i in range(100):
            t.ban("10.0.0.%d" % i, T0 + 1000 + i, "flood", T0)
            self.assertTrue(len(t) <= 8)
        self.assertEqual(len(t), 8)
        self.assertEqual(t.evictions, 92)
        # the survivors are the 8 bans ending last
        self.assertEqual([e[0] for e in t.entries(T0)], ["10.0.0.%d" % i for i in range(92, 100)])

    def test_rebanning_an_address_in_a_full_table_evicts_nothing(self):
        t = BanTable(2)
        t.ban("a", T0 + 1000, "r", T0)
        t.ban("b", T0 + 2000, "r", T0)
        t.ban("a", T0 + 3000, "r", T0)
        self.assertEqual((len(t), t.evictions), (2, 0))

    def test_expired_bans_make_room_before_anything_is_evicted(self):
        t = BanTable(2)
        t.ban("a", T0 + 100, "r", T0)
        t.ban("b", T0 + 5000, "r", T0)
        t.ban("c", T0 + 5000, "r", T0 + 200)
        self.assertEqual(t.evictions, 0)
        self.assertEqual(sorted(e[0] for e in t.entries(T0 + 200)), ["b", "c"])


class EntriesTests(TestCase):
    def test_entries_are_soonest_to_expire_first_with_time_left_and_reason(self):
        t = BanTable(4)
        t.ban("c", T0 + 3000, "third", T0)
        t.ban("a", T0 + 1000, "first", T0)
        t.ban("b", T0 + 2000, "second", T0)
        self.assertEqual(t.entries(T0 + 500), [("a", 500, "first"), ("b", 1500, "second"), ("c", 2500, "third")])

    def test_entries_drop_expired_bans(self):
        t = BanTable(4)
        t.ban("a", T0 + 1000, "r", T0)
        t.ban("b", T0 + 2000, "r", T0)
        self.assertEqual(t.entries(T0 + 1000), [("b", 1000, "r")])
        self.assertEqual(len(t), 1)

    def test_expire_removes_every_ban_due(self):
        t = BanTable(4)
        for i, a in enumerate("abcd"):
            t.ban(a, T0 + 1000 * (i + 1), "r", T0)
        t.expire(T0 + 2000)
        self.assertEqual(len(t), 2)
        t.expire(T0 + 4000)
        self.assertEqual(len(t), 0)

    def test_empty_table_has_no_entries(self):
        self.assertEqual(BanTable(1).entries(T0), [])


class WraparoundTests(TestCase):
    """Times are compared with ticks_diff only, so a ban crossing the tick wrap behaves the same.

    On MicroPython ticks wrap: ``ticks_add(0, -500)`` is 500 ms before the wrap
    and an expiry 1000 ms later is a small number again.
    """

    NOW = ticks_add(0, -500)

    def test_ban_across_the_wrap_lasts_its_full_time(self):
        t = BanTable(2)
        t.ban("a", ticks_add(self.NOW, 1000), "r", self.NOW)
        self.assertTrue(t.banned("a", self.NOW))
        self.assertTrue(t.banned("a", ticks_add(self.NOW, 499)))
        self.assertTrue(t.banned("a", ticks_add(self.NOW, 501)))
        self.assertTrue(t.banned("a", ticks_add(self.NOW, 999)))
        self.assertFalse(t.banned("a", ticks_add(self.NOW, 1000)))

    def test_entries_across_the_wrap_report_the_time_left(self):
        t = BanTable(2)
        t.ban("a", ticks_add(self.NOW, 1000), "r", self.NOW)
        t.ban("b", ticks_add(self.NOW, 300), "r", self.NOW)
        self.assertEqual(t.entries(ticks_add(self.NOW, 200)), [("b", 100, "r"), ("a", 800, "r")])
        self.assertEqual(t.entries(ticks_add(self.NOW, 700)), [("a", 300, "r")])

    def test_eviction_across_the_wrap_picks_the_soonest_expiry(self):
        # "after" expires after the wrap (a small tick value), "before" just before it
        # (a large one): the soonest is "before", whatever the raw numbers say.
        t = BanTable(2)
        t.ban("after", ticks_add(self.NOW, 1000), "r", self.NOW)
        t.ban("before", ticks_add(self.NOW, 400), "r", self.NOW)
        t.ban("new", ticks_add(self.NOW, 2000), "r", self.NOW)
        self.assertEqual(t.evictions, 1)
        self.assertFalse(t.banned("before", self.NOW))
        self.assertTrue(t.banned("after", self.NOW))
        self.assertTrue(t.banned("new", self.NOW))
