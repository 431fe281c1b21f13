"""edgegate.console.line: the serial line discipline in front of the real Shell (on a FakeBox)."""

from edgegate.console.line import LineDiscipline, render
from edgegate.console.shell import Shell
from tests.console.fakebox import PASSWORD, FakeBox
from tests.portable import TestCase

T0 = 1000
P = b"edgegate# "
PS = b"edgegate(staged)# "
LOGGED_IN = b"\r\nlogged in (help lists the commands)\r\n" + P
OVERLONG = b"error: line longer than 256 bytes refused\r\n"


class CountingShell(Shell):
    """The real Shell, counting the lines and overlong notices it is handed."""

    def __init__(self, ops, **kw):
        super().__init__(ops, **kw)
        self.lines = []
        self.overlong = 0

    def receive_line(self, line, now_ms):
        self.lines.append(line)
        return super().receive_line(line, now_ms)

    def receive_overlong(self, now_ms):
        self.overlong += 1
        return super().receive_overlong(now_ms)


def at_login(max_line_bytes=256):
    box = FakeBox()
    sh = CountingShell(box, max_line_bytes=max_line_bytes)
    sh.start(T0)
    return LineDiscipline(sh, max_line_bytes), sh, box


def logged_in(max_line_bytes=256):
    disc, sh, box = at_login(max_line_bytes)
    disc.feed(PASSWORD.encode() + b"\r\n", T0)
    assert sh.logged_in
    sh.lines = []
    box.calls = []
    return disc, sh, box


class LineEndTests(TestCase):
    """CR, LF or CRLF end a line; CRLF counts once, even split across reads."""

    def test_cr_lf_and_crlf_each_end_one_line(self):
        for end in (b"\r", b"\n", b"\r\n"):
            with self.subTest(end=end):
                disc, sh, box = logged_in()
                out = disc.feed(b"logout" + end, T0)
                self.assertEqual(out, b"logout\r\nlogged out\r\npassword: ")
                self.assertEqual(sh.lines, ["logout"])

    def test_crlf_split_across_two_reads_ends_one_line(self):
        disc, sh, box = logged_in()
        self.assertEqual(disc.feed(b"set a 1\r", T0), b"set a 1\r\n" + PS)
        self.assertEqual(disc.feed(b"\n", T0), b"")
        self.assertEqual(sh.lines, ["set a 1"])

    def test_lf_cr_is_two_line_ends(self):
        disc, sh, box = logged_in()
        self.assertEqual(disc.feed(b"\n\r", T0), b"\r\n" + P + b"\r\n" + P)
        self.assertEqual(sh.lines, ["", ""])

    def test_crcr_is_two_line_ends(self):
        disc, sh, box = logged_in()
        disc.feed(b"\r\r\n", T0)
        self.assertEqual(sh.lines, ["", ""])

    def test_several_lines_in_one_read_are_handled_in_order(self):
        disc, sh, box = logged_in()
        out = disc.feed(b"set a 1\r\nshow diff\r\ndiscard\r\n", T0)
        self.assertEqual(sh.lines, ["set a 1", "show diff", "discard"])
        self.assertEqual(out, b"set a 1\r\n" + PS + b"show diff\r\n+ a = 1\r\n" + PS
                         + b"discard\r\nstaged changes discarded\r\n" + P)
        self.assertEqual(box.names(), ["set", "diff", "diff", "diff", "discard", "diff"])

    def test_a_line_typed_byte_by_byte_is_one_line(self):
        disc, sh, box = logged_in()
        out = b""
        for b in b"logout\r\n":
            out += disc.feed(bytes([b]), T0)
        self.assertEqual(out, b"logout\r\nlogged out\r\npassword: ")
        self.assertEqual(sh.lines, ["logout"])


class EditingTests(TestCase):
    def test_backspace_and_delete_erase_the_last_byte(self):
        for bs in (b"\x08", b"\x7f"):
            with self.subTest(bs=bs):
                disc, sh, box = logged_in()
                out = disc.feed(b"logoux" + bs + b"t\r", T0)
                self.assertEqual(sh.lines, ["logout"])
                self.assertTrue(out.startswith(b"logoux\b \bt\r\n"), out)

    def test_backspace_on_an_empty_line_sends_nothing(self):
        disc, sh, box = logged_in()
        self.assertEqual(disc.feed(b"\x08\x7f\x08", T0), b"")
        disc.feed(b"ab\x08\x08\x08\x08c\r", T0)
        self.assertEqual(sh.lines, ["c"])

    def test_ctrl_c_drops_the_line_and_prints_a_new_prompt(self):
        disc, sh, box = logged_in()
        self.assertEqual(disc.feed(b"unset routes\x03", T0), b"unset routes^C\r\n" + P)
        disc.feed(b"logout\r", T0)
        self.assertEqual(sh.lines, ["logout"])
        self.assertTrue("unset" not in box.names())

    def test_ctrl_u_erases_the_line(self):
        disc, sh, box = logged_in()
        self.assertEqual(disc.feed(b"reboot\x15", T0), b"reboot")
        disc.feed(b"logout\r", T0)
        self.assertEqual(sh.lines, ["logout"])
        self.assertTrue("reboot" not in box.names())

    def test_other_control_bytes_are_ignored(self):
        disc, sh, box = logged_in()
        self.assertEqual(disc.feed(b"\x1b[A\x00\x07\t", T0), b"[A")
        disc.feed(b"\x08\x08\x01logout\x02\r", T0)
        self.assertEqual(sh.lines, ["logout"])

    def test_utf8_text_reaches_the_shell_and_other_bytes_become_question_marks(self):
        disc, sh, box = logged_in()
        out = disc.feed("café\r".encode("utf-8"), T0)
        self.assertTrue(out.endswith("error: unknown command 'café' (try help)\r\n".encode("utf-8") + P), out)
        disc.feed(b"caf\xe9\r", T0)
        disc.feed(b"\xff\xfe\r", T0)
        self.assertEqual(sh.lines, ["café", "caf?", "??"])


class EchoTests(TestCase):
    """Typed bytes are echoed only while the shell wants echo: never a password."""

    def test_password_is_not_echoed(self):
        disc, sh, box = at_login()
        self.assertFalse(sh.wants_echo)
        self.assertEqual(disc.feed(PASSWORD.encode(), T0), b"")
        self.assertEqual(disc.feed(b"\r", T0), LOGGED_IN)

    def test_backspace_in_a_password_is_not_echoed_but_erases(self):
        disc, sh, box = at_login()
        self.assertEqual(disc.feed(PASSWORD.encode() + b"x\x08", T0), b"")
        self.assertEqual(disc.feed(b"\r", T0), LOGGED_IN)

    def test_wrong_password_is_not_echoed(self):
        disc, sh, box = at_login()
        out = disc.feed(b"hunter22\r", T0)
        self.assertEqual(out, b"\r\nlogin incorrect\r\npassword: ")
        self.assertTrue(b"hunter22" not in out)

    def test_commands_are_echoed_once_logged_in(self):
        disc, sh, box = logged_in()
        self.assertTrue(sh.wants_echo)
        self.assertEqual(disc.feed(b"show", T0), b"show")

    def test_passwd_prompts_are_not_echoed(self):
        disc, sh, box = logged_in()
        self.assertEqual(disc.feed(b"passwd\r", T0), b"passwd\r\nold password: ")
        self.assertFalse(sh.wants_echo)
        self.assertEqual(disc.feed(PASSWORD.encode(), T0), b"")
        self.assertEqual(disc.feed(b"\rnew secret 1", T0), b"\r\nnew password: ")
        self.assertEqual(disc.feed(b"\rnew secret 1\r", T0),
                         b"\r\nnew password again: \r\npassword changed\r\n" + P)
        self.assertEqual(box.password, "new secret 1")


class OverlongTests(TestCase):
    """A line past max_line_bytes is dropped whole; the shell is told once; the session goes on."""

    def test_overlong_line_is_refused_once_and_the_session_kept(self):
        disc, sh, box = logged_in()
        out = disc.feed(b"x" * 300 + b"\r", T0)
        self.assertEqual(sh.overlong, 1)
        self.assertEqual(sh.lines, [])
        self.assertEqual(out, b"x" * 256 + b"\r\n" + OVERLONG + P)
        self.assertTrue(sh.logged_in)
        self.assertEqual(disc.feed(b"logout\r", T0), b"logout\r\nlogged out\r\npassword: ")

    def test_a_line_of_exactly_max_line_bytes_is_accepted(self):
        disc, sh, box = logged_in(max_line_bytes=16)
        disc.feed(b"set a " + b"b" * 10 + b"\r", T0)
        self.assertEqual((sh.overlong, sh.lines), (0, ["set a " + "b" * 10]))
        disc.feed(b"set a " + b"b" * 11 + b"\r", T0)
        self.assertEqual((sh.overlong, len(sh.lines)), (1, 1))

    def test_overlong_line_arriving_in_many_reads_is_refused_once(self):
        disc, sh, box = logged_in()
        for _ in range(50):
            disc.feed(b"0123456789", T0)
        disc.feed(b"\r\n", T0)
        self.assertEqual((sh.overlong, sh.lines), (1, []))

    def test_backspace_does_not_rescue_an_overlong_line(self):
        disc, sh, box = logged_in(max_line_bytes=16)
        disc.feed(b"0123456789abcdefg" + b"\x08" * 5 + b"\r", T0)
        self.assertEqual((sh.overlong, sh.lines), (1, []))

    def test_ctrl_c_clears_an_overlong_line(self):
        disc, sh, box = logged_in(max_line_bytes=16)
        disc.feed(b"0123456789abcdefg\x03logout\r", T0)
        self.assertEqual((sh.overlong, sh.lines), (0, ["logout"]))

    def test_overlong_password_is_refused_without_a_login_attempt(self):
        disc, sh, box = at_login()
        out = disc.feed(b"p" * 1000 + b"\r", T0)
        self.assertEqual(out, b"\r\n" + OVERLONG + b"password: ")
        self.assertTrue("check_password" not in box.names())
        self.assertEqual(disc.feed(PASSWORD.encode() + b"\r", T0), LOGGED_IN)


class RenderTests(TestCase):
    def test_render_ends_every_line_in_crlf_except_a_trailing_prompt(self):
        self.assertEqual(render(["a", "b", "edgegate# "], "edgegate# "), b"a\r\nb\r\nedgegate# ")
        self.assertEqual(render(["a", "b"]), b"a\r\nb\r\n")
        self.assertEqual(render([]), b"")
        self.assertEqual(render(["edgegate# "], "edgegate# "), b"edgegate# ")
        self.assertEqual(render(["a"], "edgegate# "), b"a\r\n")

    def test_render_encodes_utf8(self):
        self.assertEqual(render(["café"]), "café\r\n".encode("utf-8"))
