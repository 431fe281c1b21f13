"""edgegate.policy.bans: a fixed-size ban table with expiry, operator and automatic bans, networks under
pressure, and wraparound-safe ticks (a fake clock throughout)."""

from edgegate.policy.bans import BanTable, network
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


class OperatorBanTests(TestCase):
    """``ban`` is the operator's: it always lands; a full table gives up the automatic ban ending soonest."""

    def test_a_full_table_drops_the_automatic_ban_ending_soonest(self):
        t = BanTable(3)
        t.ban_auto("late", T0 + 3000, "r", T0)
        t.ban_auto("soon", T0 + 1000, "r", T0)
        t.ban("manual", T0 + 500, "console", T0)
        t.ban("new", T0 + 500, "console", T0)
        self.assertEqual(len(t), 3)
        self.assertEqual(t.evictions, 1)
        self.assertFalse(t.banned("soon", T0))
        for a in ("late", "manual", "new"):
            with self.subTest(addr=a):
                self.assertTrue(t.banned(a, T0))

    def test_only_operator_bans_left_the_one_ending_soonest_goes(self):
        t = BanTable(2)
        t.ban("a", T0 + 3000, "console", T0)
        t.ban("b", T0 + 1000, "console", T0)
        t.ban("c", T0 + 2000, "console", T0)
        self.assertEqual(sorted(e[0] for e in t.entries(T0)), ["a", "c"])
        self.assertEqual(t.evictions, 1)

    def test_size_stays_fixed_under_many_operator_bans(self):
        t = BanTable(8)
        for i in range(100):
            t.ban("10.0.0.%d" % i, T0 + 1000 + i, "console", T0)
            self.assertTrue(len(t) <= 8)
        self.assertEqual((len(t), t.evictions), (8, 92))
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


class AutomaticBanTests(TestCase):
    """``ban_auto`` is admission's: it must hold against the attacker who can get others banned."""

    def test_a_full_table_drops_the_new_ban_and_keeps_every_old_one(self):
        t = BanTable(4)
        self.assertEqual(t.ban_auto("first", T0 + 1000, "r", T0), "first")
        for i in range(1000):
            t.ban_auto("other-%d" % i, T0 + 5000, "r", T0 + 1)
        self.assertTrue(t.banned("first", T0 + 999))
        self.assertEqual((len(t), t.evictions, t.dropped), (4, 0, 997))
        self.assertIsNone(t.ban_auto("late", T0 + 9000, "r", T0 + 2))
        self.assertFalse(t.banned("late", T0 + 2))

    def test_never_evicts_a_ban_for_one_that_ends_later_either(self):
        t = BanTable(2)
        t.ban_auto("a", T0 + 100, "r", T0)
        t.ban_auto("b", T0 + 100, "r", T0)
        self.assertIsNone(t.ban_auto("c", T0 + 100000, "r", T0 + 50))
        self.assertTrue(t.banned("a", T0 + 50))

    def test_expired_bans_make_room(self):
        t = BanTable(2)
        t.ban_auto("a", T0 + 100, "r", T0)
        t.ban_auto("b", T0 + 5000, "r", T0)
        self.assertIsNone(t.ban_auto("c", T0 + 5000, "r", T0 + 99))
        self.assertEqual(t.ban_auto("c", T0 + 5000, "r", T0 + 100), "c")
        self.assertEqual(sorted(e[0] for e in t.entries(T0 + 100)), ["b", "c"])

    def test_an_automatic_ban_never_shortens_a_ban(self):
        t = BanTable(4)
        t.ban("a", T0 + 5000, "console", T0)
        self.assertEqual(t.ban_auto("a", T0 + 1000, "auth", T0), "a")
        self.assertEqual(t.entries(T0), [("a", 5000, "console")])
        t.ban_auto("a", T0 + 9000, "auth", T0)
        self.assertEqual(t.entries(T0)[0][1], 9000)

    def test_an_operator_ban_lands_over_a_full_table_of_automatic_ones(self):
        t = BanTable(3)
        for i in range(3):
            t.ban_auto("auto-%d" % i, T0 + 1000 * (i + 1), "r", T0)
        t.ban("manual", T0 + 100, "console", T0)
        self.assertTrue(t.banned("manual", T0))
        self.assertFalse(t.banned("auto-0", T0))
        self.assertEqual(t.evictions, 1)
        # and an automatic ban cannot push the operator's out
        self.assertIsNone(t.ban_auto("auto-9", T0 + 99999, "r", T0))
        self.assertTrue(t.banned("manual", T0 + 99))


class NetworkTests(TestCase):
    def test_the_network_of_an_address(self):
        for addr, net in (("192.0.2.77", "192.0.2.0/24"), ("10.0.0.1", "10.0.0.0/24"),
                          ("::ffff:192.0.2.77", "192.0.2.0/24"), ("::FFFF:198.51.100.1", "198.51.100.0/24"),
                          ("0:0:0:0:0:ffff:192.0.2.1", "192.0.2.0/24"),
                          ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"), ("2001:DB8:0001:0002::9", "2001:db8:1:2::/64"),
                          ("2001:db8::1", "2001:db8:0:0::/64"), ("::1", "0:0:0:0::/64"), ("::", "0:0:0:0::/64"),
                          ("fe80::1%eth0", "fe80:0:0:0::/64"), ("1::", "1:0:0:0::/64")):
            with self.subTest(addr=addr):
                self.assertEqual(network(addr), net)

    def test_what_is_not_an_address_has_no_network(self):
        for addr in ("", "a", "console", "1.2.3", "1.2.3.4.5", "1.2.3.256", "1.2.3.-1", "01234.1.1.1", "1.2.3.4/24",
                     "1::2::3", "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7", "12345::", "g::1", "::ffff:1.2.3",
                     "::1.2.3.4", "1:2:3:4:5:6:7::8", ":", "x" * 100, None):
            with self.subTest(addr=addr):
                self.assertIsNone(network(addr))


class PressureTests(TestCase):
    """Past three quarters full, a new automatic ban is for the address's /24 or /64."""

    def fill(self, t, n, now=T0):
        for i in range(n):
            t.ban_auto("10.%d.0.1" % i, now + 60000, "r", now)

    def test_below_pressure_addresses_are_banned_one_by_one(self):
        t = BanTable(8)
        self.fill(t, 5)
        self.assertEqual(t.ban_auto("192.0.2.1", T0 + 60000, "r", T0), "192.0.2.1")
        self.assertFalse(t.banned("192.0.2.2", T0))
        self.assertEqual(t.aggregated, 0)

    def test_under_pressure_the_network_is_banned(self):
        t = BanTable(8)
        self.fill(t, 6)
        self.assertEqual(t.ban_auto("192.0.2.1", T0 + 60000, "auth", T0), "192.0.2.0/24")
        for a in ("192.0.2.0", "192.0.2.1", "192.0.2.255", "::ffff:192.0.2.9"):
            with self.subTest(addr=a):
                self.assertTrue(t.banned(a, T0))
        self.assertFalse(t.banned("192.0.3.1", T0))
        self.assertEqual(t.aggregated, 1)
        # more failures inside it cost no entry and extend the one ban
        n = len(t)
        self.assertEqual(t.ban_auto("192.0.2.200", T0 + 90000, "auth", T0 + 10), "192.0.2.0/24")
        self.assertEqual(len(t), n)
        self.assertEqual([e for e in t.entries(T0) if e[0] == "192.0.2.0/24"], [("192.0.2.0/24", 90000, "auth")])

    def test_ipv6_is_banned_by_its_64(self):
        t = BanTable(8)
        self.fill(t, 6)
        self.assertEqual(t.ban_auto("2001:db8:a:b::1", T0 + 60000, "r", T0), "2001:db8:a:b::/64")
        self.assertTrue(t.banned("2001:db8:a:b:ffff:ffff:ffff:ffff", T0))
        self.assertFalse(t.banned("2001:db8:a:c::1", T0))

    def test_keys_that_are_not_addresses_are_never_aggregated(self):
        t = BanTable(8)
        self.fill(t, 6)
        self.assertEqual(t.ban_auto("peer-x", T0 + 60000, "r", T0), "peer-x")

    def test_an_address_ban_that_expires_leaves_its_network_ban(self):
        t = BanTable(8)
        t.ban_auto("192.0.2.1", T0 + 1000, "r", T0)
        self.fill(t, 5)
        t.ban_auto("192.0.2.2", T0 + 60000, "r", T0)
        self.assertTrue(t.banned("192.0.2.1", T0 + 2000))

    def test_a_network_ban_expires_on_time(self):
        t = BanTable(8)
        self.fill(t, 6)
        t.ban_auto("192.0.2.1", T0 + 1000, "r", T0)
        self.assertTrue(t.banned("192.0.2.7", T0 + 999))
        self.assertFalse(t.banned("192.0.2.7", T0 + 1000))
        self.assertEqual(len(t), 6)

    def test_unban_lifts_a_network_by_its_key_or_by_an_address_inside(self):
        t = BanTable(8)
        self.fill(t, 6)
        t.ban_auto("192.0.2.1", T0 + 60000, "r", T0)
        t.ban_auto("198.51.100.1", T0 + 60000, "r", T0)
        self.assertIs(t.unban("192.0.2.0/24"), True)
        self.assertFalse(t.banned("192.0.2.1", T0))
        self.assertIs(t.unban("198.51.100.77"), True)
        self.assertFalse(t.banned("198.51.100.1", T0))
        self.assertIs(t.unban("198.51.100.77"), False)

    def test_an_operator_can_ban_a_network(self):
        t = BanTable(4)
        t.ban("203.0.113.0/24", T0 + 1000, "console", T0)
        self.assertTrue(t.banned("203.0.113.5", T0))
        self.assertFalse(t.banned("203.0.114.5", T0))


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

    def test_a_full_table_across_the_wrap_makes_room_when_its_soonest_ban_ends(self):
        t = BanTable(2)
        t.ban_auto("before", ticks_add(self.NOW, 400), "r", self.NOW)
        t.ban_auto("after", ticks_add(self.NOW, 1000), "r", self.NOW)
        self.assertIsNone(t.ban_auto("new", ticks_add(self.NOW, 2000), "r", ticks_add(self.NOW, 399)))
        self.assertEqual(t.ban_auto("new", ticks_add(self.NOW, 2000), "r", ticks_add(self.NOW, 400)), "new")
        self.assertTrue(t.banned("after", ticks_add(self.NOW, 999)))
