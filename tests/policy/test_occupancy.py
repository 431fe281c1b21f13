"""policy.occupancy: the connection slots, decided at accept (portable, no clock but the one passed in)."""

from edgegate.policy.occupancy import EVICT, Occupancy
from tests.portable import TestCase


def occ(max_conns=100, per_ip=10, pending_per_ip=4, pending_max=8, min_pending_ms=1000):
    return Occupancy(max_conns, per_ip, pending_per_ip, pending_max, min_pending_ms)


class OccupancyTests(TestCase):
    def test_an_address_gets_429_past_its_unfinished_burst_before_a_byte_is_read(self):
        o = occ()
        self.assertEqual([o.admit("a") for _ in range(5)], [0, 0, 0, 0, 429])
        self.assertEqual(o.held("a"), (4, 4))
        self.assertEqual(o.refused, {"pending_per_ip": 1})

    def test_established_connections_leave_the_pending_share_and_count_against_the_address(self):
        o = occ(per_ip=6)
        for _ in range(4):
            self.assertEqual(o.admit("a"), 0)
            o.establish("a")
        self.assertEqual(o.held("a"), (4, 0))
        self.assertEqual([o.admit("a") for _ in range(3)], [0, 0, 429])
        self.assertEqual(o.refused, {"per_ip": 1})

    def test_the_box_refuses_503_at_max_conns(self):
        o = occ(max_conns=3, per_ip=10)
        for a in "abc":
            o.admit(a)
            o.establish(a)
        self.assertEqual(o.admit("d"), 503)

    def test_a_full_pending_share_evicts_from_the_address_holding_the_most(self):
        o = occ(pending_per_ip=4, pending_max=8)
        for a in "aaaabbbb":
            o.admit(a)
        self.assertEqual(o.admit("c"), EVICT)
        self.assertEqual(o.victim, "a")

    def test_a_crowd_of_one_idle_connection_per_address_yields_its_oldest_once_it_has_waited(self):
        o = occ(pending_max=8, min_pending_ms=1000)
        for a in "abcdefgh":
            o.admit(a)
        self.assertEqual(o.admit("z", oldest_pending_ms=999), 503)
        self.assertEqual(o.admit("z", oldest_pending_ms=1000), EVICT)
        self.assertIsNone(o.victim)

    def test_every_release_gives_the_slots_back_and_the_table_empties(self):
        o = occ()
        o.admit("a")
        o.admit("a")
        o.establish("a")
        o.release("a", True)
        o.release("a", False)
        self.assertEqual((o.total, o.pending, o.addresses()), (0, 0, 0))

    def test_a_commit_tightens_the_bounds_for_new_connections(self):
        o = occ()
        o.admit("a")
        o.configure(100, 1, 1, 8)
        self.assertEqual(o.admit("a"), 429)
        self.assertEqual(o.admit("b"), 0)

    def test_the_address_holding_the_most_is_found_as_a_scan_would_find_it(self):
        o = occ(max_conns=1000, per_ip=50, pending_per_ip=6, pending_max=1000)
        open_ = []  # (addr, established)
        x = 12345
        for step in range(3000):
            x = (x * 1103515245 + 12345) & 0x7FFFFFFF
            addr = "10.0.0.%d" % (x % 13)
            op = (x >> 8) % 3
            if op == 0 or not open_:
                if o.admit(addr) == 0:
                    open_.append([addr, False])
            elif op == 1:
                c = open_[(x >> 4) % len(open_)]
                if not c[1]:
                    o.establish(c[0])
                    c[1] = True
            else:
                c = open_.pop((x >> 4) % len(open_))
                o.release(c[0], c[1])
            counts = {}
            for a, est in open_:
                if not est:
                    counts[a] = counts.get(a, 0) + 1
            most = max(counts.values()) if counts else 0
            top, n = o._most_pending()
            self.assertEqual(n, most)
            if most:
                self.assertEqual(counts[top], most)
            self.assertEqual(o.pending, sum(counts.values()))
