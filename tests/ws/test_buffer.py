"""edgegate.ws.buffer: the fixed receive buffer whose unread bytes stay contiguous."""

from edgegate.ws.buffer import RingPool, RxBuffer
from tests.portable import TestCase


def unread(rx):
    return bytes(rx.view(rx.start, rx.end))


class RxBufferTests(TestCase):
    """Receive buffer (no RFC section: edgegate's bounded memory, STYLE C4)."""

    def test_buffer_rejects_a_size_of_zero(self):
        for size in (0, -1):
            with self.subTest(size=size):
                with self.assertRaises(ValueError) as cm:
                    RxBuffer(size)
                self.assertEqual(str(cm.exception), "size must be > 0")

    def test_buffer_starts_empty_with_the_whole_tail_free(self):
        rx = RxBuffer(8)
        self.assertEqual(len(rx), 0)
        self.assertEqual(len(rx.tail()), 8)

    def test_write_accepts_what_fits_and_reports_it(self):
        rx = RxBuffer(8)
        self.assertEqual(rx.write(b"abc"), 3)
        self.assertEqual(rx.write(b"defghijk"), 5)
        self.assertEqual(rx.write(b"z"), 0)
        self.assertEqual(unread(rx), b"abcdefgh")
        self.assertEqual(len(rx), 8)

    def test_write_accepts_bytes_bytearray_and_memoryview(self):
        for data in (b"hello", bytearray(b"hello"), memoryview(b"xhellox")[1:6]):
            with self.subTest(kind=type(data).__name__):
                rx = RxBuffer(8)
                self.assertEqual(rx.write(data), 5)
                self.assertEqual(unread(rx), b"hello")

    def test_write_of_nothing_accepts_nothing(self):
        rx = RxBuffer(4)
        self.assertEqual(rx.write(b""), 0)
        self.assertEqual(len(rx), 0)

    def test_tail_then_commit_receives_bytes_in_place(self):
        rx = RxBuffer(8)
        t = rx.tail()
        t[0:4] = b"wxyz"
        rx.commit(4)
        self.assertEqual(unread(rx), b"wxyz")
        self.assertEqual(len(rx.tail()), 4)

    def test_commit_past_the_end_raises(self):
        for n in (9, -1):
            with self.subTest(n=n):
                rx = RxBuffer(8)
                with self.assertRaises(ValueError) as cm:
                    rx.commit(n)
                self.assertEqual(str(cm.exception), "commit past the end of the buffer")
                self.assertEqual(len(rx), 0)

    def test_skip_consumes_from_the_head(self):
        rx = RxBuffer(8)
        rx.write(b"abcdef")
        rx.skip(2)
        self.assertEqual(unread(rx), b"cdef")
        self.assertEqual(rx.start, 2)

    def test_skip_of_everything_rewinds_to_offset_zero(self):
        rx = RxBuffer(8)
        rx.write(b"abcdef")
        rx.skip(6)
        self.assertEqual((rx.start, rx.end), (0, 0))
        self.assertEqual(len(rx.tail()), 8)

    def test_skip_past_the_unread_bytes_raises(self):
        rx = RxBuffer(8)
        rx.write(b"abc")
        with self.assertRaises(ValueError) as cm:
            rx.skip(4)
        self.assertEqual(str(cm.exception), "skip past the unread bytes")
        self.assertEqual(unread(rx), b"abc")

    def test_tail_compacts_when_the_end_is_reached(self):
        rx = RxBuffer(8)
        rx.write(b"abcdefgh")
        rx.skip(5)
        t = rx.tail()
        self.assertEqual((rx.start, rx.end), (0, 3))
        self.assertEqual(len(t), 5)
        self.assertEqual(unread(rx), b"fgh")

    def test_tail_compacts_when_the_unit_in_progress_would_not_fit(self):
        rx = RxBuffer(10)
        rx.write(b"0123456")
        rx.skip(5)  # "56" at offset 5: a 6-byte unit cannot end by offset 10
        rx.need = 6
        t = rx.tail()
        self.assertEqual((rx.start, rx.end), (0, 2))
        self.assertEqual(len(t), 8)
        self.assertEqual(unread(rx), b"56")

    def test_tail_does_not_compact_while_the_unit_fits(self):
        rx = RxBuffer(10)
        rx.write(b"0123456")
        rx.skip(5)
        rx.need = 5
        t = rx.tail()
        self.assertEqual((rx.start, rx.end), (5, 7))
        self.assertEqual(len(t), 3)

    def test_write_compacts_to_make_room(self):
        rx = RxBuffer(8)
        rx.write(b"abcdefgh")
        rx.skip(6)
        self.assertEqual(rx.write(b"123456"), 6)
        self.assertEqual(unread(rx), b"gh123456")
        self.assertEqual(rx.start, 0)

    def test_clear_drops_unread_bytes_and_the_unit(self):
        rx = RxBuffer(8)
        rx.write(b"abc")
        rx.need = 7
        rx.clear()
        self.assertEqual((len(rx), rx.start, rx.end, rx.need), (0, 0, 0, 0))

    def test_buffer_never_resizes_and_old_views_stay_valid(self):
        rx = RxBuffer(16)
        buf = rx.buf
        whole = rx.view(0, 16)  # taken before any write or compaction
        expected = b""
        for i in range(200):
            chunk = bytes((65 + (i + j) % 26 for j in range(1 + i % 7)))
            n = rx.write(chunk)
            expected += chunk[:n]
            k = (i * 5) % (len(rx) + 1)
            rx.skip(k)
            expected = expected[k:]
            self.assertIs(rx.buf, buf)
            self.assertEqual(len(rx.buf), 16)
            self.assertEqual(unread(rx), expected)
            self.assertEqual(bytes(whole[rx.start:rx.end]), expected)

    def test_view_is_a_window_on_the_buffer(self):
        rx = RxBuffer(8)
        rx.write(b"abcdef")
        v = rx.view(1, 4)
        self.assertEqual(bytes(v), b"bcd")
        v[0] = ord("B")
        self.assertEqual(bytes(rx.buf[0:3]), b"aBc")


class RingPoolTests(TestCase):
    """Receive buffer pool (no RFC section: memory follows the buffers in flight)."""

    def test_pool_refuses_zero_sizes(self):
        for args in ((0, 4), (64, 0), (-1, -1)):
            with self.subTest(args=args):
                with self.assertRaises(ValueError) as cm:
                    RingPool(*args)
                self.assertEqual(str(cm.exception), "ring_bytes and max_rings must be > 0")

    def test_pool_lends_at_most_max_rings(self):
        pool = RingPool(32, 3)
        rings = [pool.take() for _ in range(3)]
        self.assertEqual([r.size for r in rings], [32, 32, 32])
        self.assertEqual((pool.available, pool.lent, pool.allocated, pool.high_water), (0, 3, 3, 3))
        self.assertIsNone(pool.take())
        self.assertEqual(pool.lent, 3)

    def test_pool_reuses_a_returned_ring_emptied(self):
        pool = RingPool(32, 2)
        rx = pool.take()
        rx.write(b"left over")
        rx.need = 20
        pool.give(rx)
        self.assertEqual((pool.available, pool.lent, pool.allocated), (2, 0, 1))
        again = pool.take()
        self.assertIs(again, rx)
        self.assertEqual((len(again), again.need), (0, 0))
        self.assertEqual(pool.allocated, 1)

    def test_pool_drops_returned_rings_beyond_keep_free(self):
        pool = RingPool(32, 8, keep_free=1)
        a, b, c = pool.take(), pool.take(), pool.take()
        pool.give(a)
        pool.give(b)
        pool.give(c)
        self.assertEqual((pool.lent, pool.allocated, pool.high_water, pool.available), (0, 1, 3, 8))
        self.assertIs(pool.take(), a)
        self.assertFalse(pool.take() is b)
        self.assertEqual(pool.allocated, 2)

    def test_pool_keeps_at_least_four_free_rings_by_default(self):
        self.assertEqual(RingPool(32, 8).keep_free, 4)
        self.assertEqual(RingPool(32, 160).keep_free, 10)
