"""The relay core decides with a fake clock: bytes and ticks in, typed actions out, no sockets, no sleeps.

Each test builds a client and a backend ``Connection`` in relay mode over their
own receive buffers, feeds wire bytes into them as a pump would, and reads the
actions the core returns. Time is a number the test moves.
"""

from edgegate.policy.errors import AuthError, MessageRefused
from edgegate.policy.messages import MessagePolicy
from edgegate.relay.actions import BACKEND, CLIENT, Abort, Close, EndWrite, Forward, Note, PeerFault, Write
from edgegate.relay.core import CLOSING, DONE, RELAY, Relay
from edgegate.relay.pool import AssemblyPool
from edgegate.ws.buffer import RxBuffer
from edgegate.ws.close import close_payload, parse_close
from edgegate.ws.connection import Connection
from edgegate.ws.frames import OP_BINARY, OP_CLOSE, OP_CONT, OP_PING, OP_TEXT, build_frame
from tests.portable import TestCase

KEY = b"\x01\x02\x03\x04"
TIMEOUTS = {"idle_ms": 60000, "ping_interval_ms": 20000, "close_ms": 3000, "message_ms": 10000}
RING = 4096 + 14


def from_client(opcode, payload=b"", fin=True):
    return bytes(build_frame(opcode, payload, fin, KEY))


def from_backend(opcode, payload=b"", fin=True):
    return bytes(build_frame(opcode, payload, fin))


def unmasked(frame_bytes):
    """(opcode, fin, payload) of one frame, unmasking if needed."""
    b0, b1 = frame_bytes[0], frame_bytes[1]
    n, at = b1 & 0x7F, 2
    if n == 126:
        n, at = (frame_bytes[2] << 8) | frame_bytes[3], 4
    key = None
    if b1 & 0x80:
        key, at = frame_bytes[at:at + 4], at + 4
    body = bytearray(frame_bytes[at:at + n])
    if key is not None:
        for i in range(n):
            body[i] ^= key[i & 3]
    return b0 & 0x0F, bool(b0 & 0x80), bytes(body)


class Chain:
    """A pipeline chain for tests: today's rules (a MessagePolicy gate) plus an optional rewrite."""

    def __init__(self, policy=None, rewrite=None, reads=True, now=0):
        self.gate = (policy or MessagePolicy("t")).gate(now, "k")
        self.name = "t"
        self.rewrite = rewrite
        self.reads_text = reads
        self.reads_binary = reads
        self.judged = []

    def charge(self, n, now_ms):
        self.gate.charge(n, now_ms)

    def start(self, text, n):
        self.gate.start(text, n)

    def grow(self, n):
        self.gate.grow(n)

    def judge(self, text, payload, now_ms, wall_s):
        self.judged.append(bytes(payload))
        self.gate.inspect(text, payload)
        return self.rewrite(bytes(payload)) if self.rewrite is not None else None


class Pair:
    """A relay with its two buffers; ``feed`` puts wire bytes in a side's buffer and hands them to the core."""

    def __init__(self, chains=(None, None), pool=None, expires=None, refresh=None, now=0):
        self.rx = [RxBuffer(RING), RxBuffer(RING)]
        c = Connection(False, RING, 4096, 1 << 20, assemble=False, rx=self.rx[0], defer_fail_close=True,
                       own_rx=False, raw_binary=chains[0] is None or not chains[0].reads_binary)
        b = Connection(True, RING, 4096, 1 << 20, assemble=False, rand_bytes=lambda n: b"\x00" * n,
                       rx=self.rx[1], defer_fail_close=True, own_rx=False)
        self.relay = Relay(c, b, TIMEOUTS, now, lambda: b"\x09\x08\x07\x06", chains, pool or AssemblyPool(1 << 20, 1 << 20),
                           "k", expires, refresh, {"id": 1, "peer": "p"}, lambda: 1700000000.0)

    def feed(self, side, data, now=0):
        rx = self.rx[side]
        rx.write(data)
        acts = self.relay.received(side, rx, now)
        return acts, [self.wire(a, side) for a in acts if type(a) in (Forward, Write)]

    def wire(self, a, src):
        """(destination side, bytes) of a Forward or Write, as the pump would write them."""
        if type(a) is Forward:
            return a.side, bytes(self.rx[src].mv[a.start:a.end])
        return a.side, bytes(a.data)


def answered(p, code=1008):
    """The backend answers the close it got; return the actions (the client's held close goes out)."""
    acts, _ = p.feed(BACKEND, from_backend(OP_CLOSE, close_payload(code, "")))
    return acts


def closes(acts, side):
    return [parse_close(unmasked(a.data)[2]) for a in acts
            if type(a) is Write and a.side == side and unmasked(a.data)[0] == OP_CLOSE]


class RelayingTests(TestCase):
    def test_client_frames_go_to_the_backend_remasked_in_one_forward(self):
        p = Pair()
        acts, out = p.feed(CLIENT, from_client(OP_TEXT, b"hello") + from_client(OP_BINARY, b"\x00\xff"))
        self.assertEqual([type(a) for a in acts], [Forward])
        side, data = out[0]
        self.assertEqual(side, BACKEND)
        first = data[:2 + 4 + 5]
        self.assertEqual(first[2:6], b"\x09\x08\x07\x06")  # the gateway's own mask key
        self.assertEqual(unmasked(first), (OP_TEXT, True, b"hello"))
        self.assertEqual(unmasked(data[len(first):]), (OP_BINARY, True, b"\x00\xff"))
        self.assertEqual(p.relay.frames, [2, 0])

    def test_backend_frames_go_to_the_client_as_they_are(self):
        p = Pair()
        frame = from_backend(OP_TEXT, b"hi")
        acts, out = p.feed(BACKEND, frame)
        self.assertEqual(out, [(CLIENT, frame)])

    def test_a_frame_split_at_every_byte_goes_out_once_whole(self):
        frame = from_client(OP_TEXT, b"split me")
        for i in range(len(frame) + 1):
            with self.subTest(split=i):
                p = Pair()
                _, a = p.feed(CLIENT, frame[:i])
                _, b = p.feed(CLIENT, frame[i:])
                got = [d for s, d in a + b]
                self.assertEqual(len(got), 1)
                self.assertEqual(unmasked(got[0]), (OP_TEXT, True, b"split me"))

    def test_client_close_goes_to_the_backend_and_its_answer_comes_back(self):
        p = Pair()
        acts, _ = p.feed(CLIENT, from_client(OP_CLOSE, close_payload(1000, "bye")))
        self.assertEqual(closes(acts, BACKEND), [(1000, "bye")])
        self.assertEqual(p.relay.state, CLOSING)
        acts, _ = p.feed(BACKEND, from_backend(OP_CLOSE, close_payload(1000, "bye")))
        self.assertEqual(closes(acts, CLIENT), [(1000, "bye")])
        self.assertIn(EndWrite, [type(a) for a in acts])

    def test_an_answer_with_another_code_echoes_the_starters_own(self):
        p = Pair()
        p.feed(CLIENT, from_client(OP_CLOSE, close_payload(4001, "")))
        acts, _ = p.feed(BACKEND, from_backend(OP_CLOSE, close_payload(1000, "")))
        self.assertEqual(closes(acts, CLIENT), [(4001, "")])

    def test_a_client_protocol_error_tells_the_backend_1001_and_the_client_1002_after_the_answer(self):
        p = Pair()
        acts, _ = p.feed(CLIENT, b"\x81\x05hello")  # unmasked client frame
        self.assertEqual(closes(acts, BACKEND), [(1001, "peer failed")])
        self.assertEqual([a.code for a in acts if type(a) is PeerFault], [1002])
        acts, _ = p.feed(BACKEND, from_backend(OP_CLOSE, close_payload(1001, "")))
        self.assertEqual([c[0] for c in closes(acts, CLIENT)], [1002])

    def test_a_backend_protocol_error_tells_the_client_1014(self):
        p = Pair()
        acts, _ = p.feed(BACKEND, b"\x81\x85\x00\x00\x00\x00hello")  # a masked server frame
        self.assertEqual(closes(acts, CLIENT), [(1014, "bad gateway")])
        self.assertFalse([a for a in acts if type(a) is PeerFault])

    def test_pings_are_answered_hop_by_hop(self):
        p = Pair()
        acts, out = p.feed(CLIENT, from_client(OP_PING, b"x"))
        self.assertEqual([(s, unmasked(d)[0]) for s, d in out], [(CLIENT, 0xA)])


class TimerTests(TestCase):
    def test_an_idle_client_gets_a_ping_then_1001_at_idle_ms(self):
        p = Pair()
        self.assertEqual(p.relay.tick(19999), [])
        acts = p.relay.tick(20001)
        self.assertEqual([unmasked(a.data)[0] for a in acts if type(a) is Write], [OP_PING])
        self.assertEqual(p.relay.tick(30000), [])  # one ping per quiet spell
        acts = p.relay.tick(60001)
        self.assertEqual(closes(acts, CLIENT), [(1001, "idle timeout")])
        self.assertEqual(closes(acts, BACKEND), [(1001, "idle timeout")])

    def test_a_client_that_sends_is_not_idle(self):
        p = Pair()
        p.feed(CLIENT, from_client(OP_TEXT, b"."), now=50000)
        self.assertEqual(p.relay.tick(60001), [])

    def test_an_unanswered_close_is_cut_after_close_ms(self):
        p = Pair()
        p.relay.start_close(1001, "going away", 1000)
        self.assertEqual(p.relay.tick(4000), [])
        acts = p.relay.tick(4001)
        self.assertEqual(sorted(type(a).__name__ for a in acts if type(a) in (Abort, Close)), ["Abort", "Abort"])
        self.assertEqual(p.relay.state, DONE)

    def test_a_side_whose_close_was_never_answered_hears_its_own_code_at_the_deadline(self):
        p = Pair()
        p.feed(CLIENT, from_client(OP_CLOSE, close_payload(4002, "")), now=0)
        acts = p.relay.tick(3001)
        self.assertEqual(closes(acts, CLIENT), [(4002, "")])
        self.assertIn(Close, [type(a) for a in acts])

    def test_the_credential_expiry_closes_1008(self):
        p = Pair(expires=5000)
        self.assertEqual(closes(p.relay.tick(4999), CLIENT), [])
        acts = p.relay.tick(5000)
        self.assertEqual(closes(acts, CLIENT), [(1008, "token expired")])
        self.assertIn("credential_expired", [a.count for a in acts if type(a) is Note])

    def test_a_refresh_moves_the_expiry(self):
        p = Pair(expires=5000, refresh=lambda payload: 9000 if payload == b"refresh" else None)
        acts, out = p.feed(CLIENT, from_client(OP_TEXT, b"refresh"), now=100)
        self.assertEqual(out, [])  # consumed, not relayed
        self.assertEqual(closes(p.relay.tick(5000), CLIENT), [])
        self.assertEqual(closes(p.relay.tick(9000), CLIENT), [(1008, "token expired")])

    def test_a_refused_refresh_closes_1008(self):
        def refresh(payload):
            raise AuthError("bad signature")
        p = Pair(expires=5000, refresh=refresh)
        acts, _ = p.feed(CLIENT, from_client(OP_TEXT, b"refresh"))
        self.assertEqual(closes(acts, CLIENT), [(1008, "token refresh refused")])

    def test_a_fragmented_message_not_finished_in_message_ms_closes_1008_and_frees_the_pool(self):
        pool = AssemblyPool(1 << 20, 1 << 20)
        p = Pair(chains=(Chain(), None), pool=pool)
        p.feed(CLIENT, from_client(OP_TEXT, b"part", fin=False), now=0)
        self.assertEqual(pool.held, 4)
        self.assertEqual(p.relay.tick(10000), [])
        acts = p.relay.tick(10001)
        self.assertEqual(closes(acts, BACKEND), [(1008, "message too slow")])
        self.assertEqual(pool.held, 0)
        self.assertEqual(closes(answered(p), CLIENT), [(1008, "message too slow")])


class PipelineTests(TestCase):
    def test_a_fragmented_message_is_judged_whole_and_goes_on_as_one_frame(self):
        chain = Chain()
        p = Pair(chains=(chain, None))
        _, a = p.feed(CLIENT, from_client(OP_TEXT, b"hel", fin=False))
        self.assertEqual(a, [])
        _, b = p.feed(CLIENT, from_client(OP_CONT, b"lo"))
        self.assertEqual([(s, unmasked(d)) for s, d in b], [(BACKEND, (OP_TEXT, True, b"hello"))])
        self.assertEqual(chain.judged, [b"hello"])

    def test_the_assembly_pool_refuses_1013_past_a_share(self):
        pool = AssemblyPool(100, 10)
        p = Pair(chains=(Chain(), None), pool=pool)
        acts, _ = p.feed(CLIENT, from_client(OP_TEXT, b"x" * 11, fin=False))
        self.assertEqual(closes(acts, BACKEND), [(1013, "try again later")])
        self.assertEqual(pool.held, 0)
        self.assertEqual(closes(answered(p, 1013), CLIENT), [(1013, "try again later")])

    def test_the_rate_step_closes_1008_over_its_rate_on_the_fake_clock(self):
        chain = Chain(MessagePolicy("r", messages_per_s=2, messages_burst=2))
        p = Pair(chains=(chain, None))
        for i in range(2):
            _, out = p.feed(CLIENT, from_client(OP_TEXT, b"m"), now=0)
            self.assertEqual(len(out), 1)
        acts, out = p.feed(CLIENT, from_client(OP_TEXT, b"m"), now=1)
        self.assertEqual(closes(acts, BACKEND), [(1008, "rate limit")])
        self.assertEqual(closes(answered(p), CLIENT), [(1008, "rate limit")])

    def test_the_rate_refills_with_time(self):
        chain = Chain(MessagePolicy("r", messages_per_s=2, messages_burst=2, on_rate="drop"))
        p = Pair(chains=(chain, None))
        p.feed(CLIENT, from_client(OP_TEXT, b"m") * 2, now=0)
        acts, out = p.feed(CLIENT, from_client(OP_TEXT, b"m"), now=10)
        self.assertEqual(out, [])  # dropped
        self.assertEqual(p.relay.dropped, [1, 0])
        _, out = p.feed(CLIENT, from_client(OP_TEXT, b"m"), now=600)
        self.assertEqual(len(out), 1)

    def test_a_step_that_replaces_a_client_message_sends_the_new_payload(self):
        p = Pair(chains=(Chain(rewrite=lambda b: b.replace(b"4111", b"####")), None))
        _, out = p.feed(CLIENT, from_client(OP_TEXT, b"card 4111"))
        self.assertEqual([(s, unmasked(d)) for s, d in out], [(BACKEND, (OP_TEXT, True, b"card ####"))])
        self.assertEqual(p.relay.rewritten, [1, 0])

    def test_a_step_that_replaces_a_backend_message_sends_the_new_payload_to_the_client(self):
        p = Pair(chains=(None, Chain(rewrite=lambda b: b + b"!")))
        _, out = p.feed(BACKEND, from_backend(OP_TEXT, b"hi"))
        self.assertEqual([(s, unmasked(d)) for s, d in out], [(CLIENT, (OP_TEXT, True, b"hi!"))])

    def test_a_backend_message_refused_by_its_pipeline_closes_both_sides(self):
        chain = Chain(MessagePolicy("b", text=False))
        p = Pair(chains=(None, chain))
        acts, out = p.feed(BACKEND, from_backend(OP_TEXT, b"no text"))
        self.assertEqual(closes(acts, CLIENT), [(1003, "message refused: type")])
        self.assertEqual(closes(acts, BACKEND), [])  # it hears it once the client's answer is back
        audit = [a.fields for a in acts if type(a) is Note and a.event == "audit"][0]
        acts, _ = p.feed(CLIENT, from_client(OP_CLOSE, close_payload(1003, "")))
        self.assertEqual(closes(acts, BACKEND), [(1003, "message refused: type")])
        self.assertEqual((audit["direction"], audit["rule"], audit["bytes"]), ("backend", "type", 7))

    def test_frames_before_a_refused_one_still_go_out_first(self):
        chain = Chain(MessagePolicy("t", binary=False))
        p = Pair(chains=(chain, None))
        acts, out = p.feed(CLIENT, from_client(OP_TEXT, b"ok") + from_client(OP_BINARY, b"no"))
        self.assertEqual(type(acts[0]), Forward)
        self.assertEqual(unmasked(out[0][1]), (OP_TEXT, True, b"ok"))
        self.assertEqual(closes(acts, BACKEND), [(1003, "message refused: type")])

    def test_answers_to_messages_before_a_refused_one_reach_the_client_before_its_close(self):
        chain = Chain(MessagePolicy("t", binary=False))
        p = Pair(chains=(chain, None))
        p.feed(CLIENT, from_client(OP_TEXT, b"q1") + from_client(OP_TEXT, b"q2") + from_client(OP_BINARY, b"no"))
        _, out = p.feed(CLIENT, from_client(OP_TEXT, b"after the refusal"))
        self.assertEqual(out, [])  # nothing more reaches the backend
        acts, out = p.feed(BACKEND, from_backend(OP_TEXT, b"a1") + from_backend(OP_TEXT, b"a2")
                           + from_backend(OP_CLOSE, close_payload(1003, "")))
        relayed = b"".join(d for s, d in out if s == CLIENT)
        self.assertTrue(relayed.startswith(from_backend(OP_TEXT, b"a1") + from_backend(OP_TEXT, b"a2")))
        self.assertEqual(closes(acts, CLIENT), [(1003, "message refused: type")])

    def test_a_held_refusal_reaches_the_client_at_the_close_deadline_if_the_backend_never_answers(self):
        p = Pair(chains=(Chain(MessagePolicy("t", binary=False)), None))
        p.feed(CLIENT, from_client(OP_BINARY, b"no"), now=0)
        acts = p.relay.tick(3001)
        self.assertEqual(closes(acts, CLIENT), [(1003, "message refused: type")])
        self.assertIn(Close, [type(a) for a in acts])

    def test_a_chain_that_reads_nothing_leaves_the_message_in_place(self):
        chain = Chain(reads=False)
        p = Pair(chains=(chain, None))
        acts, _ = p.feed(CLIENT, from_client(OP_TEXT, b"as is"))
        self.assertEqual([type(a) for a in acts], [Forward])
        self.assertEqual(chain.judged, [])

    def test_done_gives_the_assembled_bytes_back(self):
        pool = AssemblyPool(1 << 20, 1 << 20)
        p = Pair(chains=(Chain(), Chain()), pool=pool)
        p.feed(CLIENT, from_client(OP_TEXT, b"abc", fin=False))
        p.feed(BACKEND, from_backend(OP_BINARY, b"de", fin=False))
        self.assertEqual(pool.held, 5)
        p.relay.done()
        self.assertEqual((pool.held, pool.by), (0, {}))
        self.assertEqual(p.relay.state, DONE)

    def test_a_refusal_is_a_message_refused_with_its_code(self):
        self.assertEqual(MessageRefused(1009, "size", "x").code, 1009)
        self.assertEqual(RELAY, 2)
