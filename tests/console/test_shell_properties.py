"""Properties of edgegate.console.shell under arbitrary input (CPython only: hypothesis)."""

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from edgegate.console.shell import Shell, pretty_json
from tests.console.fakebox import PASSWORD, FakeBox

COMMAND_LINES = (
    "help", "help show", "show running", "show staged", "show diff", "show status",
    "show connections", "show routes", "show bans", "show metrics", "show log", "show log 3",
    "set limits.max_conns 8", "set bad.x 1", "unset a", "commit", "commit confirmed 30",
    "confirm", "rollback", "discard", "kick 7", "kick 8", "ban 10.0.0.9 60", "unban 10.0.0.9",
    "passwd", "reboot", "y", "n", "logout", "",
)

# Lines typed where they are echoed: real commands or any text without "W".
echoed_lines = st.one_of(
    st.sampled_from(COMMAND_LINES),
    st.text(alphabet=st.characters(blacklist_characters="W"), max_size=40),
    st.sampled_from(COMMAND_LINES).flatmap(lambda c: st.text(max_size=300).map(lambda t: c + " " + t)),
)
# Lines typed where they are not echoed: the password, or a secret marked "PW".
secret_lines = st.one_of(st.just(PASSWORD), st.text(min_size=4, max_size=30).map(lambda t: "PW" + t))

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


def check_output(sh, out, from_tick=False):
    assert isinstance(out, list)
    for s in out:
        assert isinstance(s, str)
        s.encode("utf-8")  # strict: no lone surrogate reaches the transport
        assert not any(ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 for c in s), s
    if out and sh.prompt:
        assert out[-1] == sh.prompt
    if out and from_tick:
        assert out[0] == ""


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(), max_size=30), st.integers(0, 2 ** 40))
def test_arbitrary_lines_never_raise_and_print_only_lines(lines, t):
    box = FakeBox()
    sh = Shell(box)
    check_output(sh, sh.start(t))
    check_output(sh, sh.receive_line(PASSWORD, t))
    for line in lines:
        check_output(sh, sh.receive_line(line, t))
    assert sh.internal_errors == 0


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_sessions_never_raise_and_never_print_a_secret(data):
    box = FakeBox()
    sh = Shell(box, max_failures=3, lockout_ms=5000, idle_logout_ms=20000)
    t = data.draw(st.integers(0, 2 ** 40))
    outputs = [sh.start(t)]
    secrets = set()
    for _ in range(data.draw(st.integers(1, 40))):
        t += data.draw(st.sampled_from((0, 1, 999, 5000, 20000)))
        step = data.draw(st.sampled_from(("line", "line", "line", "tick", "overlong")))
        if step == "tick":
            out = sh.tick(t)
            check_output(sh, out, from_tick=True)
        elif step == "overlong":
            out = sh.receive_overlong(t)
            check_output(sh, out)
        else:
            echo = sh.wants_echo
            line = data.draw(echoed_lines if echo else secret_lines)
            if not echo and line != PASSWORD:
                secrets.add(line)
            out = sh.receive_line(line, t)
            check_output(sh, out)
        outputs.append(out)
    text = "\n".join("\n".join(o) for o in outputs)
    for s in secrets:
        assert s not in text
    assert sh.internal_errors == 0


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.integers(0, 3000)), max_size=40))
def test_no_password_is_checked_while_locked(attempts):
    box = FakeBox()
    sh = Shell(box, max_failures=3, lockout_ms=10000)
    sh.start(0)
    t = 0
    locked_until = None
    fails = 0
    for right, dt in attempts:
        t += dt
        n = len(box.calls)
        sh.receive_line(PASSWORD if right else "wrong", t)
        checked = len(box.calls) > n and box.calls[n] == ("check_password",)
        if locked_until is not None and t < locked_until:
            assert not checked
            continue
        if locked_until is not None:
            locked_until, fails = None, 0
        assert checked
        if right:
            sh.receive_line("logout", t)
            fails = 0
        else:
            fails += 1
            if fails == 3:
                locked_until = t + 10000


def test_a_line_with_a_lone_surrogate_is_refused():
    # CPython only: MicroPython can encode a lone surrogate, CPython cannot.
    sh = Shell(FakeBox())
    sh.start(0)
    assert sh.receive_line("pass\udc80", 0) == ["error: line is not valid text", "password: "]
    sh.receive_line(PASSWORD, 0)
    sh.receive_line("passwd", 0)
    assert sh.receive_line("\ud800", 0) == ["error: line is not valid text", "password not changed",
                                            "edgegate# "]
    assert sh.internal_errors == 0


@settings(max_examples=500, deadline=None)
@given(json_values)
def test_pretty_json_is_cpython_json_with_indent_and_sorted_keys(value):
    assert pretty_json(value) == json.dumps(value, indent=2, sort_keys=True).split("\n")
