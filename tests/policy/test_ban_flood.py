"""Automatic bans hold against the attacker they stop: a flood of other addresses' bans lifts none.

Issue 10 item 7: a banned address got back in once 10 000 other addresses had
been banned (the table evicted by recency). Here the addresses are banned the
real way, by failed authentications through ``Admission.decide``, on a fake
clock, with the table at the size the config gives it.
"""

from edgegate.policy.errors import Reject
from edgegate.rt import ticks_add
from tests.policy.test_admission import T0, Case, facts
from tests.portable import TestCase  # noqa: F401 - marks the module portable

ATTACKER = "192.0.2.66"
ENTRIES = 64


def spread(i):
    """The i-th address of a flood from many networks (each its own /24)."""
    return "10.%d.%d.1" % ((i >> 8) & 255, i & 255)


class BanFloodTests(Case):
    def setUp(self):
        self.audits = []
        self.adm = self.make({"ban_after_failures": 1, "ban_window_s": 60, "ban_s": 300},
                             {"admission_table_entries": ENTRIES})

    def fail(self, peer, now_ms):
        with self.assertRaises(Reject) as cm:
            self.decide(facts("/jwt", peer=peer), now_ms=now_ms)
        return cm.exception.status

    def test_a_banned_address_stays_banned_through_a_flood_of_other_bans(self):
        self.assertEqual(self.fail(ATTACKER, T0), 401)
        self.refused(facts("/open", peer=ATTACKER), 403, "banned", "ban", now_ms=ticks_add(T0, 1))
        for i in range(10000):
            self.fail(spread(i), ticks_add(T0, 2 + i // 100))
            if i % 100 == 0:
                del self.audits[:]  # MicroPython's heap is small: keep only the recent records
        self.refused(facts("/open", peer=ATTACKER), 403, "banned", "ban", now_ms=ticks_add(T0, 200))
        self.assertTrue(len(self.adm.bans) <= ENTRIES)

    def test_the_flood_is_counted_and_audited_when_the_table_is_full(self):
        self.fail(ATTACKER, T0)
        for i in range(200):
            self.fail(spread(i), ticks_add(T0, 1))
        self.assertEqual(len(self.adm.bans), ENTRIES)
        self.assertEqual(self.adm.counters["bans"], ENTRIES)
        self.assertEqual(self.adm.counters["bans_dropped"], 201 - ENTRIES)
        dropped = [a for a in self.audits if a[0] == "ban_dropped"]
        self.assertEqual(dropped[0], ("ban_dropped", {"peer": spread(ENTRIES - 1), "reason": "ban table full"}))
        self.assertEqual(self.adm.bans.dropped, 201 - ENTRIES)
        self.assertEqual(self.adm.bans.evictions, 0)

    def test_bans_expire_on_time_and_make_room_again(self):
        self.fail(ATTACKER, T0)
        for i in range(200):
            self.fail(spread(i), ticks_add(T0, 1))
        later = ticks_add(T0, 300 * 1000 + 1)
        self.decide(facts("/open", peer=ATTACKER), now_ms=later)
        self.assertEqual(self.fail(spread(500), later), 401)
        self.refused(facts("/open", peer=spread(500)), 403, "banned", "ban", now_ms=later)

    def test_a_flood_from_one_network_is_banned_as_that_network_under_pressure(self):
        self.fail(ATTACKER, T0)
        for i in range(3000):
            peer = "198.51.100.%d" % (i % 256) if i % 2 else "203.0.%d.%d" % (i >> 8 & 7, i & 255)
            try:
                self.decide(facts("/jwt", peer=peer), now_ms=ticks_add(T0, 1))
            except Reject:
                pass
            if i % 100 == 0:
                self.audits[:] = [a for a in self.audits if a[0] == "banned"]
        self.assertTrue(len(self.adm.bans) <= ENTRIES)
        self.refused(facts("/open", peer=ATTACKER), 403, "banned", "ban", now_ms=ticks_add(T0, 2))
        # every address of those networks is refused, whether it failed or not
        for peer in ("198.51.100.0", "198.51.100.255", "203.0.7.200"):
            self.refused(facts("/open", peer=peer), 403, "banned", "ban", now_ms=ticks_add(T0, 2))
        self.decide(facts("/open", peer="198.51.101.1"), now_ms=ticks_add(T0, 2))
        prefixes = [a[1]["prefix"] for a in self.audits if a[0] == "banned" and "prefix" in a[1]]
        self.assertTrue("198.51.100.0/24" in prefixes, prefixes)
        self.assertFalse("bans_dropped" in self.adm.counters)
