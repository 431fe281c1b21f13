"""edgegate.console.shell: the console shell against a FakeBox, with fake clock values."""

from edgegate.config import ConfigError
from edgegate.console.ops import OpsError
from edgegate.console.shell import Shell, json_string, pretty_json
from edgegate.ws.errors import EdgegateError
from tests.console.fakebox import PASSWORD, FakeBox
from tests.portable import TestCase

T0 = 1000
P = "edgegate# "
PS = "edgegate(staged)# "
PW = "password: "
OVERLONG = "error: line longer than 256 bytes refused"
COMMANDS = ("show", "set", "unset", "commit", "confirm", "rollback", "discard", "kick", "ban",
            "unban", "passwd", "reboot", "logout", "help")


class PathError(EdgegateError):
    """An error with a ``.path`` whose message, unlike ConfigError's, does not repeat it."""

    def __init__(self, path, msg):
        super().__init__(msg)
        self.path = path


def logged_in(box=None, **kw):
    """A shell logged in at T0 on ``box`` (a new FakeBox by default), its call log cleared."""
    box = box or FakeBox()
    sh = Shell(box, **kw)
    sh.start(T0)
    sh.receive_line(PASSWORD, T0)
    assert sh.logged_in
    box.calls = []
    return sh, box


def fail_login(sh, times, now_ms=T0):
    out = None
    for _ in range(times):
        out = sh.receive_line("wrong", now_ms)
    return out


class LoginTests(TestCase):
    """Password login, failure counting and lockout."""

    def test_shell_starts_with_the_banner_and_a_password_prompt(self):
        sh = Shell(FakeBox())
        self.assertEqual(sh.start(T0), ["edgegate console", PW])
        self.assertEqual(sh.prompt, PW)
        self.assertFalse(sh.logged_in)
        self.assertFalse(sh.wants_echo)
        self.assertFalse(sh.wants_reboot)

    def test_shell_prints_the_banner_it_is_given(self):
        sh = Shell(FakeBox(), banner="box 12 (lab)")
        self.assertEqual(sh.start(T0), ["box 12 (lab)", PW])

    def test_shell_logs_in_with_the_right_password(self):
        box = FakeBox()
        sh = Shell(box)
        sh.start(T0)
        self.assertEqual(sh.receive_line(PASSWORD, T0), ["logged in (help lists the commands)", P])
        self.assertTrue(sh.logged_in)
        self.assertTrue(sh.wants_echo)
        self.assertEqual(box.names(), ["check_password", "diff"])

    def test_shell_refuses_a_wrong_password(self):
        box = FakeBox()
        sh = Shell(box)
        sh.start(T0)
        self.assertEqual(sh.receive_line("wrong", T0), ["login incorrect", PW])
        self.assertFalse(sh.logged_in)
        self.assertEqual(box.names(), ["check_password"])

    def test_shell_takes_a_command_at_the_password_prompt_as_a_password(self):
        box = FakeBox()
        sh = Shell(box)
        sh.start(T0)
        self.assertEqual(sh.receive_line("show running", T0), ["login incorrect", PW])
        self.assertEqual(box.names(), ["check_password"])

    def test_shell_does_not_count_an_empty_line_at_the_password_prompt(self):
        box = FakeBox()
        sh = Shell(box, max_failures=1)
        sh.start(T0)
        for _ in range(3):
            self.assertEqual(sh.receive_line("", T0), [PW])
        self.assertEqual(box.calls, [])
        self.assertEqual(sh.receive_line(PASSWORD, T0)[0], "logged in (help lists the commands)")

    def test_shell_logs_in_only_when_check_password_returns_true(self):
        for answer in (1, "yes", [True], None):
            with self.subTest(answer=answer):
                box = FakeBox()
                box.check_password = lambda pw: answer
                sh = Shell(box)
                sh.start(T0)
                self.assertEqual(sh.receive_line(PASSWORD, T0), ["login incorrect", PW])
                self.assertFalse(sh.logged_in)

    def test_shell_locks_after_five_wrong_passwords(self):
        sh = Shell(FakeBox())
        sh.start(T0)
        for _ in range(4):
            self.assertEqual(sh.receive_line("wrong", T0), ["login incorrect", PW])
        self.assertEqual(sh.receive_line("wrong", T0),
                         ["login incorrect", "locked: try again in 60 s", PW])

    def test_shell_does_not_check_passwords_while_locked(self):
        box = FakeBox()
        sh = Shell(box)
        sh.start(T0)
        fail_login(sh, 5)
        box.calls = []
        for dt, left in ((1, 60), (1000, 59), (58999, 2), (59001, 1), (59999, 1)):
            with self.subTest(dt=dt):
                self.assertEqual(sh.receive_line(PASSWORD, T0 + dt),
                                 ["locked: try again in %d s" % left, PW])
        self.assertEqual(box.calls, [])
        self.assertFalse(sh.logged_in)

    def test_shell_unlocks_when_lockout_ms_has_passed(self):
        sh = Shell(FakeBox())
        sh.start(T0)
        fail_login(sh, 5)
        self.assertEqual(sh.receive_line(PASSWORD, T0 + 60000),
                         ["logged in (help lists the commands)", P])

    def test_shell_counts_failures_from_zero_after_a_lockout(self):
        sh = Shell(FakeBox())
        sh.start(T0)
        fail_login(sh, 5)
        self.assertEqual(fail_login(sh, 4, T0 + 60000), ["login incorrect", PW])
        self.assertEqual(fail_login(sh, 1, T0 + 60000),
                         ["login incorrect", "locked: try again in 60 s", PW])

    def test_shell_resets_the_failure_count_on_a_success(self):
        sh = Shell(FakeBox())
        sh.start(T0)
        fail_login(sh, 4)
        sh.receive_line(PASSWORD, T0)
        sh.receive_line("logout", T0)
        self.assertEqual(fail_login(sh, 4), ["login incorrect", PW])
        self.assertEqual(fail_login(sh, 1), ["login incorrect", "locked: try again in 60 s", PW])

    def test_shell_lockout_follows_max_failures_and_lockout_ms(self):
        sh = Shell(FakeBox(), max_failures=2, lockout_ms=1500)
        sh.start(T0)
        self.assertEqual(fail_login(sh, 1), ["login incorrect", PW])
        self.assertEqual(fail_login(sh, 1), ["login incorrect", "locked: try again in 2 s", PW])
        self.assertEqual(sh.receive_line(PASSWORD, T0 + 500), ["locked: try again in 1 s", PW])
        self.assertTrue(sh.receive_line(PASSWORD, T0 + 1500)[0].startswith("logged in"))

    def test_shell_keeps_the_lockout_across_start(self):
        box = FakeBox()
        sh = Shell(box)
        sh.start(T0)
        fail_login(sh, 5)
        self.assertEqual(sh.start(T0 + 10), ["edgegate console", PW])
        self.assertEqual(sh.receive_line(PASSWORD, T0 + 20), ["locked: try again in 60 s", PW])

    def test_shell_tick_ends_a_lockout_that_has_run_out(self):
        sh = Shell(FakeBox())
        sh.start(T0)
        fail_login(sh, 5)
        self.assertEqual(sh.tick(T0 + 60000), [])
        # a clock value from before the lockout no longer matters once it has ended
        self.assertTrue(sh.receive_line(PASSWORD, T0)[0].startswith("logged in"))

    def test_shell_counts_a_raising_check_password_as_a_failure(self):
        box = FakeBox()
        box.raises["check_password"] = RuntimeError("hash store unreadable")
        sh = Shell(box, max_failures=2)
        sh.start(T0)
        self.assertEqual(sh.receive_line(PASSWORD, T0), ["login incorrect", PW])
        self.assertEqual(sh.internal_errors, 1)
        self.assertIs(sh.last_error, box.raises["check_password"])
        self.assertEqual(sh.receive_line(PASSWORD, T0),
                         ["login incorrect", "locked: try again in 60 s", PW])

    def test_shell_never_prints_a_typed_password(self):
        sh = Shell(FakeBox())
        seen = sh.start(T0)
        for pw in ("wrong-pass-1", "wrong-pass-2", "wrong-pass-3", "wrong-pass-4", "wrong-pass-5",
                   "wrong-pass-6", PASSWORD):
            seen = seen + sh.receive_line(pw, T0)
        seen = seen + sh.receive_line(PASSWORD, T0 + 60000)
        text = "\n".join(seen)
        self.assertFalse("wrong-pass" in text)
        self.assertFalse(PASSWORD in text)

    def test_internal_error_at_the_password_prompt_keeps_the_prompt(self):
        sh = Shell(FakeBox())
        sh.start(T0)
        self.assertEqual(sh.receive_line(12, T0), ["error: internal error", PW])
        self.assertFalse(sh.logged_in)
        self.assertFalse(sh.wants_echo)

    def test_shell_refuses_limits_that_are_not_positive(self):
        for name in ("max_line_bytes", "max_failures", "lockout_ms", "idle_logout_ms"):
            for bad in (0, -1, "5", None):
                with self.subTest(name=name, bad=bad):
                    with self.assertRaises(ValueError) as cm:
                        Shell(FakeBox(), **{name: bad})
                    self.assertEqual(str(cm.exception), "%s must be a positive integer" % name)


class EchoTests(TestCase):
    """wants_echo tells the transport when typed characters are secret."""

    def test_shell_wants_no_echo_at_password_prompts_only(self):
        sh = Shell(FakeBox())
        sh.start(T0)
        self.assertFalse(sh.wants_echo)
        sh.receive_line(PASSWORD, T0)
        self.assertTrue(sh.wants_echo)
        for line, prompt in (("passwd", "old password: "), ("x", "new password: "),
                             ("y", "new password again: ")):
            self.assertEqual(sh.receive_line(line, T0)[-1], prompt)
            self.assertFalse(sh.wants_echo)
        sh.receive_line("z", T0)
        self.assertTrue(sh.wants_echo)
        sh.receive_line("reboot", T0)
        self.assertTrue(sh.wants_echo)
        sh.receive_line("n", T0)
        sh.receive_line("logout", T0)
        self.assertFalse(sh.wants_echo)


class HelpTests(TestCase):
    def test_help_lists_every_command_with_one_line(self):
        sh, box = logged_in()
        out = sh.receive_line("help", T0)
        self.assertEqual(out[0], "commands (help CMD for details):")
        self.assertEqual(out[-1], P)
        self.assertEqual(len(out), 2 + len(COMMANDS))
        for name, line in zip(COMMANDS, out[1:-1]):
            self.assertTrue(line.startswith("  " + name + " "), line)
        self.assertEqual(out[1], "  show      print the config, the box's state or its log")

    def test_help_cmd_prints_usage_and_details(self):
        sh, box = logged_in()
        self.assertEqual(sh.receive_line("help set", T0),
                         ["usage: set PATH VALUE", "stage a config value",
                          "  PATH names a field, e.g. routes[0].backend.url",
                          "  VALUE is the rest of the line, as JSON (8080, true, \"x\", {...});",
                          "  a bare word is taken as a string", P])
        self.assertEqual(sh.receive_line("help logout", T0), ["usage: logout", "end this session", P])
        for name in COMMANDS:
            with self.subTest(name=name):
                self.assertTrue(sh.receive_line("help " + name, T0)[0].startswith("usage: " + name))

    def test_help_of_an_unknown_command_is_an_error(self):
        sh, box = logged_in()
        self.assertEqual(sh.receive_line("help frobnicate", T0),
                         ["error: unknown command 'frobnicate' (try help)", P])


class CommandLineTests(TestCase):
    """Words, unknown commands and what is printed back."""

    def test_shell_refuses_an_unknown_command(self):
        sh, box = logged_in()
        self.assertEqual(sh.receive_line("shwo running", T0),
                         ["error: unknown command 'shwo' (try help)", P])
        self.assertEqual(sh.receive_line("SHOW", T0), ["error: unknown command 'SHOW' (try help)", P])

    def test_shell_escapes_control_characters_it_prints_back(self):
        sh, box = logged_in()
        self.assertEqual(sh.receive_line("\x1b[2J\x07x\x9b", T0),
                         ["error: unknown command '\\x1b[2J\\x07x\\x9b' (try help)", P])

    def test_shell_answers_an_empty_line_with_the_prompt(self):
        sh, box = logged_in()
        for line in ("", "   ", "\t \t"):
            with self.subTest(line=line):
                self.assertEqual(sh.receive_line(line, T0), [P])
        self.assertEqual(box.names(), ["diff", "diff", "diff"])

    def test_shell_splits_words_on_spaces_and_tabs(self):
        sh, box = logged_in()
        self.assertEqual(sh.receive_line("  \tshow\t \tdiff  ", T0), ["no staged changes", P])

    def test_shell_prompt_shows_staged_changes(self):
        sh, box = logged_in()
        self.assertEqual(sh.receive_line("set listen[0].port 9000", T0), [PS])
        self.assertEqual(sh.prompt, PS)
        self.assertEqual(sh.receive_line("discard", T0), ["staged changes discarded", P])
        self.assertEqual(sh.prompt, P)


class ShowTests(TestCase):
    def test_show_running_prints_indented_json_with_sorted_keys(self):
        sh, box = logged_in()
        self.assertEqual(sh.receive_line("show running", T0), [
            "{",
            "  \"listen\": [",
            "    {",
            "      \"host\": \"0.0.0.0\",",
            "      \"plaintext\": true,",
            "      \"port\": 8080",
            "    }",
            "  ],",
            "  \"routes\": []",
            "}",
            P])
        self.assertEqual(box.names(), ["running", "diff"])

    def test_show_staged_prints_the_staged_document(self):
        sh, box = logged_in()
        box.staged_doc = {"routes": [{"path": "/a", "backend": {"url": "ws://10.0.0.2:9000/"}}],
                          "console": {"password_hash": "<hashed>"}, "limits": {}}
        self.assertEqual(sh.receive_line("show staged", T0), [
            "{",
            "  \"console\": {",
            "    \"password_hash\": \"<hashed>\"",
            "  },",
            "  \"limits\": {},",
            "  \"routes\": [",
            "    {",
            "      \"backend\": {",
            "        \"url\": \"ws://10.0.0.2:9000/\"",
            "      },",
            "      \"path\": \"/a\"",
            "    }",
            "  ]",
            "}",
            P])

    def test_show_diff_prints_the_diff_lines(self):
        sh, box = logged_in()
        box.diff_lines = ["+ routes[1].path = \"/b\"", "~ limits.max_conns: 64 -> 32"]
        self.assertEqual(sh.receive_line("show diff", T0),
                         ["+ routes[1].path = \"/b\"", "~ limits.max_conns: 64 -> 32", PS])
        box.diff_lines = []
        self.assertEqual(sh.receive_line("show diff", T0), ["no staged changes", P])

    def test_show_status_prints_aligned_pairs(self):
        sh, box = logged_in()
        self.assertEqual(sh.receive_line("show status", T0 + 5),
                         ["board            pi4", "uptime_s         42", "pending_confirm  no", P])
        self.assertEqual(box.calls[0], ("status", T0 + 5))
        box.status_pairs = []
        self.assertEqual(sh.receive_line("show status", T0), ["no status", P])

    def test_show_connections_prints_a_table(self):
        sh, box = logged_in()
        box.conns = [
            {"id": 7, "peer": "10.0.0.5:51000", "path": "/ws", "state": "open", "age_ms": 61999,
             "frames_in": 12, "frames_out": 3},
            {"id": 12, "peer": "10.0.0.6:40000", "path": "/telemetry", "state": "closing",
             "age_ms": 500, "frames_in": 0, "frames_out": 1},
        ]
        self.assertEqual(sh.receive_line("show connections", T0 + 7), [
            "id  peer            path        state    age  in  out",
            "7   10.0.0.5:51000  /ws         open     61s  12  3",
            "12  10.0.0.6:40000  /telemetry  closing  0s   0   1",
            P])
        self.assertEqual(box.calls[0], ("connections", T0 + 7))
        box.conns = []
        self.assertEqual(sh.receive_line("show connections", T0), ["no connections", P])

    def test_show_connections_fills_missing_fields_with_a_dash(self):
        sh, box = logged_in()
        box.conns = [{"id": 1}]
        self.assertEqual(sh.receive_line("show connections", T0), [
            "id  peer  path  state  age  in  out",
            "1   -     -     -      -    -   -",
            P])

    def test_show_routes_prints_a_table(self):
        sh, box = logged_in()
        box.route_list = [{"path": "/ws", "match": "prefix", "backend": "ws://10.0.0.2:9000/",
                           "messages": "chat raw.v1=raw", "active": 3}]
        self.assertEqual(sh.receive_line("show routes", T0), [
            "path  match   backend              messages         active",
            "/ws   prefix  ws://10.0.0.2:9000/  chat raw.v1=raw  3",
            P])
        box.route_list = []
        self.assertEqual(sh.receive_line("show routes", T0), ["no routes", P])

    def test_show_bans_rounds_the_time_left_up(self):
        sh, box = logged_in()
        box.ban_list = [{"address": "10.0.0.9", "remaining_ms": 299001, "reason": "console"},
                        {"address": "10.0.0.10", "remaining_ms": 1, "reason": "rate"}]
        self.assertEqual(sh.receive_line("show bans", T0 + 3), [
            "address    left  reason",
            "10.0.0.9   300s  console",
            "10.0.0.10  1s    rate",
            P])
        self.assertEqual(box.calls[0], ("bans", T0 + 3))
        box.ban_list = []
        self.assertEqual(sh.receive_line("show bans", T0), ["no bans", P])

    def test_show_metrics_prints_counters_sorted_by_name(self):
        sh, box = logged_in()
        box.counters = {"frames_in": 1200, "conns_refused": 4, "bytes_out": 99}
        self.assertEqual(sh.receive_line("show metrics", T0),
                         ["bytes_out      99", "conns_refused  4", "frames_in      1200", P])
        box.counters = {}
        self.assertEqual(sh.receive_line("show metrics", T0), ["no metrics", P])

    def test_show_log_asks_for_20_records_by_default(self):
        sh, box = logged_in()
        box.records = ["r%d" % i for i in range(30)]
        out = sh.receive_line("show log", T0)
        self.assertEqual(out, ["r%d" % i for i in range(10, 30)] + [P])
        self.assertEqual(box.calls[0], ("log", 20))

    def test_show_log_n_asks_for_n_records(self):
        sh, box = logged_in()
        box.records = ["a", "b", "c"]
        self.assertEqual(sh.receive_line("show log 2", T0), ["b", "c", P])
        self.assertEqual(sh.receive_line("show log 1000", T0), ["a", "b", "c", P])
        self.assertEqual([c for c in box.calls if c[0] == "log"], [("log", 2), ("log", 1000)])

    def test_show_log_refuses_a_bad_n(self):
        sh, box = logged_in()
        for n in ("0", "1001", "-1", "x", "2.5", "1 2", "\u0663", "0000000000001"):
            with self.subTest(n=n):
                self.assertEqual(sh.receive_line("show log " + n, T0),
                                 ["error: N must be a number from 1 to 1000", P])
        self.assertEqual(box.names().count("log"), 0)

    def test_show_log_says_when_the_log_is_empty(self):
        sh, box = logged_in()
        self.assertEqual(sh.receive_line("show log", T0), ["log is empty", P])

    def test_show_log_escapes_control_characters_in_records(self):
        sh, box = logged_in()
        box.records = ["refused GET /\x1b]0;pwned\x07 from 10.0.0.5", "caf\u00e9 ok"]
        self.assertEqual(sh.receive_line("show log", T0),
                         ["refused GET /\\x1b]0;pwned\\x07 from 10.0.0.5", "caf\u00e9 ok", P])

    def test_show_log_escapes_lone_surrogates_in_records(self):
        sh, box = logged_in()
        box.records = ["a\ud800b"]
        self.assertEqual(sh.receive_line("show log", T0), ["a\\ud800b", P])

    def test_show_prints_its_usage_for_anything_else(self):
        sh, box = logged_in()
        usage = "usage: show running|staged|diff|status|connections|routes|bans|metrics|log [N]"
        for line in ("show", "show everything", "show running now", "show Running"):
            with self.subTest(line=line):
                self.assertEqual(sh.receive_line(line, T0), [usage, P])
        self.assertEqual(box.names(), ["diff"] * 4)


class EditTests(TestCase):
    """set, unset, commit, confirm, rollback, discard."""

    def test_set_passes_the_rest_of_the_line_as_the_value(self):
        sh, box = logged_in()
        self.assertEqual(sh.receive_line("set routes[0].backend.url   \"ws://a b/\"  ", T0), [PS])
        self.assertEqual(box.calls[0], ("set", "routes[0].backend.url", "\"ws://a b/\""))
        sh.receive_line("set limits {\"max_conns\": 8}", T0)
        self.assertEqual(box.calls[2], ("set", "limits", "{\"max_conns\": 8}"))

    def test_set_prints_its_usage_without_a_value(self):
        sh, box = logged_in()
        for line in ("set", "set limits.max_conns", "set limits.max_conns   "):
            with self.subTest(line=line):
                self.assertEqual(sh.receive_line(line, T0), ["usage: set PATH VALUE", P])
        self.assertEqual(box.names(), ["diff"] * 3)

    def test_set_names_the_field_of_a_config_error(self):
        sh, box = logged_in()
        self.assertEqual(sh.receive_line("set bad.key 1", T0), ["error: bad.key: unknown key", P])

    def test_config_error_without_a_path_prints_the_message(self):
        sh, box = logged_in()
        box.raises["set"] = ConfigError("", "must be an object")
        self.assertEqual(sh.receive_line("set x 1", T0), ["error: must be an object", P])

    def test_error_with_a_path_and_a_plain_message_names_the_path(self):
        sh, box = logged_in()
        box.raises["set"] = PathError("limits.max_conns", "must be an integer from 1 to 4096")
        self.assertEqual(sh.receive_line("set limits.max_conns 0", T0),
                         ["error: limits.max_conns: must be an integer from 1 to 4096", P])

    def test_unset_removes_a_path(self):
        sh, box = logged_in()
        self.assertEqual(sh.receive_line("unset routes[1]", T0), [PS])
        self.assertEqual(box.calls[0], ("unset", "routes[1]"))

    def test_unset_prints_its_usage_and_config_errors(self):
        sh, box = logged_in()
        self.assertEqual(sh.receive_line("unset", T0), ["usage: unset PATH", P])
        self.assertEqual(sh.receive_line("unset a b", T0), ["usage: unset PATH", P])
        self.assertEqual(sh.receive_line("unset bad.x", T0), ["error: bad.x: not set", P])

    def test_commit_passes_now_and_no_confirm_time(self):
        sh, box = logged_in()
        sh.receive_line("set limits.max_conns 8", T0)
        self.assertEqual(sh.receive_line("commit", T0 + 9), ["committed: 2 changes", P])
        self.assertEqual(box.calls[-2], ("commit", T0 + 9, 0))

    def test_commit_confirmed_passes_seconds_as_milliseconds(self):
        sh, box = logged_in()
        self.assertEqual(sh.receive_line("commit confirmed 30", T0 + 9),
                         ["committed: 2 changes", P])
        self.assertEqual(box.calls[0], ("commit", T0 + 9, 30000))
        sh.receive_line("commit  confirmed\t86400", T0)
        self.assertEqual(box.calls[2], ("commit", T0, 86400000))

    def test_commit_confirmed_says_when_it_rolls_back_if_ops_says_nothing(self):
        sh, box = logged_in()
        box.answer["commit"] = ""
        self.assertEqual(sh.receive_line("commit confirmed 45", T0),
                         ["committed; rolls back in 45 s unless confirmed", P])

    def test_commit_prints_a_default_when_ops_says_nothing(self):
        sh, box = logged_in()
        box.answer["commit"] = None
        self.assertEqual(sh.receive_line("commit", T0), ["committed", P])
        box.answer["commit"] = ["committed", "listener 0.0.0.0:8080 restarted"]
        self.assertEqual(sh.receive_line("commit", T0),
                         ["committed", "listener 0.0.0.0:8080 restarted", P])

    def test_commit_prints_its_usage_for_other_words(self):
        sh, box = logged_in()
        for line in ("commit now", "commit confirmed", "commit confirm 30"):
            with self.subTest(line=line):
                self.assertEqual(sh.receive_line(line, T0), ["usage: commit [confirmed SECONDS]", P])
        self.assertEqual(box.names().count("commit"), 0)

    def test_commit_confirmed_refuses_bad_seconds(self):
        sh, box = logged_in()
        for s in ("0", "86401", "-5", "ten", "30s", "30 40", "99999999999"):
            with self.subTest(s=s):
                self.assertEqual(sh.receive_line("commit confirmed " + s, T0),
                                 ["error: SECONDS must be a number from 1 to 86400", P])
        self.assertEqual(box.names().count("commit"), 0)

    def test_commit_names_the_field_that_fails_validation(self):
        sh, box = logged_in()
        box.raises["commit"] = ConfigError("routes[2].backend.url", "scheme must be ws")
        self.assertEqual(sh.receive_line("commit", T0),
                         ["error: routes[2].backend.url: scheme must be ws", P])
        self.assertEqual(sh.receive_line("commit confirmed 60", T0),
                         ["error: routes[2].backend.url: scheme must be ws", P])

    def test_confirm_keeps_a_commit_confirmed(self):
        sh, box = logged_in()
        self.assertEqual(sh.receive_line("confirm", T0 + 4), ["commit confirmed", P])
        self.assertEqual(box.calls[0], ("confirm", T0 + 4))
        box.answer["confirm"] = "confirmed: rollback cancelled"
        self.assertEqual(sh.receive_line("confirm", T0), ["confirmed: rollback cancelled", P])

    def test_confirm_prints_the_refusal_when_nothing_is_pending(self):
        sh, box = logged_in()
        box.raises["confirm"] = OpsError("no commit is waiting for confirm")
        self.assertEqual(sh.receive_line("confirm", T0), ["error: no commit is waiting for confirm", P])
        self.assertEqual(sh.receive_line("confirm now", T0), ["usage: confirm", P])

    def test_rollback_prints_the_summary(self):
        sh, box = logged_in()
        self.assertEqual(sh.receive_line("rollback", T0 + 2), ["rolled back to the previous config", P])
        self.assertEqual(box.calls[0], ("rollback", T0 + 2))
        box.raises["rollback"] = OpsError("nothing to roll back to")
        self.assertEqual(sh.receive_line("rollback", T0), ["error: nothing to roll back to", P])
        self.assertEqual(sh.receive_line("rollback 2", T0), ["usage: rollback", P])

    def test_discard_drops_staged_changes(self):
        sh, box = logged_in()
        sh.receive_line("set a 1", T0)
        self.assertEqual(sh.receive_line("discard", T0), ["staged changes discarded", P])
        self.assertEqual(sh.receive_line("discard all", T0), ["usage: discard", P])
        box.raises["discard"] = OpsError("")
        self.assertEqual(sh.receive_line("discard", T0), ["error: refused", P])


class GatewayCommandTests(TestCase):
    """kick, ban, unban."""

    def test_kick_closes_a_connection(self):
        sh, box = logged_in()
        self.assertEqual(sh.receive_line("kick 7", T0), ["connection 7 closed", P])
        self.assertEqual(box.calls[0], ("kick", 7))

    def test_kick_prints_the_refusal_for_an_unknown_id(self):
        sh, box = logged_in()
        self.assertEqual(sh.receive_line("kick 8", T0), ["error: no connection 8", P])

    def test_kick_prints_its_usage_for_a_bad_id(self):
        sh, box = logged_in()
        for line in ("kick", "kick x", "kick -1", "kick 7 8", "kick 1234567890"):
            with self.subTest(line=line):
                self.assertEqual(sh.receive_line(line, T0), ["usage: kick ID", P])
        self.assertEqual(box.names().count("kick"), 0)

    def test_ban_refuses_an_address_for_seconds(self):
        sh, box = logged_in()
        self.assertEqual(sh.receive_line("ban 10.0.0.9 300", T0 + 1), ["10.0.0.9 banned for 300 s", P])
        self.assertEqual(box.calls[0], ("ban", "10.0.0.9", 300, T0 + 1))

    def test_ban_prints_the_refusal_and_its_usage(self):
        sh, box = logged_in()
        self.assertEqual(sh.receive_line("ban nonsense 5", T0),
                         ["error: 'nonsense' is not an address", P])
        for line in ("ban", "ban 10.0.0.9", "ban 10.0.0.9 5 6"):
            with self.subTest(line=line):
                self.assertEqual(sh.receive_line(line, T0), ["usage: ban ADDRESS SECONDS", P])
        for s in ("0", "2678401", "5m"):
            with self.subTest(s=s):
                self.assertEqual(sh.receive_line("ban 10.0.0.9 " + s, T0),
                                 ["error: SECONDS must be a number from 1 to 2678400", P])
        self.assertEqual(box.names().count("ban"), 1)
        self.assertEqual(sh.receive_line("ban 10.0.0.9 2678400", T0), ["10.0.0.9 banned for 2678400 s", P])

    def test_unban_lifts_a_ban(self):
        sh, box = logged_in()
        self.assertEqual(sh.receive_line("unban 10.0.0.9", T0), ["10.0.0.9 unbanned", P])
        self.assertEqual(box.calls[0], ("unban", "10.0.0.9"))
        self.assertEqual(sh.receive_line("unban 10.0.0.1", T0), ["error: 10.0.0.1 is not banned", P])
        self.assertEqual(sh.receive_line("unban", T0), ["usage: unban ADDRESS", P])
        self.assertEqual(sh.receive_line("unban a b", T0), ["usage: unban ADDRESS", P])


class PasswdTests(TestCase):
    """passwd asks three times and never echoes or prints what was typed."""

    def passwd(self, sh, old, new, again):
        out = [sh.receive_line("passwd", T0), sh.receive_line(old, T0), sh.receive_line(new, T0)]
        out.append(sh.receive_line(again, T0))
        return out

    def test_passwd_changes_the_password(self):
        sh, box = logged_in()
        out = self.passwd(sh, PASSWORD, "battery staple", "battery staple")
        self.assertEqual(out, [["old password: "], ["new password: "], ["new password again: "],
                               ["password changed", P]])
        self.assertEqual(box.names(), ["set_password", "diff"])
        sh.receive_line("logout", T0)
        self.assertEqual(sh.receive_line("battery staple", T0)[0], "logged in (help lists the commands)")

    def test_passwd_refuses_new_passwords_that_differ(self):
        sh, box = logged_in()
        out = self.passwd(sh, PASSWORD, "battery staple", "battery stapel")
        self.assertEqual(out[-1], ["error: the new passwords differ", "password not changed", P])
        self.assertEqual(box.names().count("set_password"), 0)

    def test_passwd_prints_the_refusal_of_the_box(self):
        for old, new, msg in ((PASSWORD + "x", "battery staple", "error: old password is wrong"),
                              (PASSWORD, "t1ny", "error: new password is shorter than 8 characters")):
            with self.subTest(msg=msg):
                sh, box = logged_in()
                self.assertEqual(self.passwd(sh, old, new, new)[-1], [msg, "password not changed", P])
                self.assertEqual(box.password, PASSWORD)

    def test_passwd_prints_what_the_box_answers(self):
        sh, box = logged_in()
        box.set_password = lambda old, new: "password changed; 1 session logged out"
        self.assertEqual(self.passwd(sh, PASSWORD, "battery staple", "battery staple")[-1],
                         ["password changed; 1 session logged out", P])

    def test_passwd_hides_an_answer_that_repeats_a_password(self):
        sh, box = logged_in()
        box.set_password = lambda old, new: "password set to " + new
        self.assertEqual(self.passwd(sh, PASSWORD, "battery staple", "battery staple")[-1],
                         ["password changed", P])

    def test_passwd_says_changed_when_the_new_password_is_in_the_answer(self):
        sh, box = logged_in()
        box.set_password = lambda old, new: "password changed"
        self.assertEqual(self.passwd(sh, PASSWORD, "password", "password")[-1], ["password changed", P])

    def test_passwd_hides_a_refusal_that_repeats_a_password(self):
        sh, box = logged_in()
        box.raises["set_password"] = OpsError("'hunter2hunter2' is a common password")
        self.assertEqual(self.passwd(sh, PASSWORD, "hunter2hunter2", "hunter2hunter2")[-1],
                         ["error: refused", "password not changed", P])

    def test_passwd_never_prints_what_was_typed(self):
        sh, box = logged_in()
        outs = self.passwd(sh, "old-secret-1", "new-secret-2", "new-secret-3")
        outs += self.passwd(sh, PASSWORD, "new-secret-4", "new-secret-4")
        text = "\n".join("\n".join(o) for o in outs)
        self.assertFalse("secret" in text)
        self.assertFalse(PASSWORD in text)

    def test_passwd_takes_no_arguments(self):
        sh, box = logged_in()
        self.assertEqual(sh.receive_line("passwd admin", T0), ["usage: passwd", P])
        self.assertTrue(sh.wants_echo)

    def test_passwd_is_cancelled_by_an_overlong_line(self):
        sh, box = logged_in()
        sh.receive_line("passwd", T0)
        sh.receive_line(PASSWORD, T0)
        self.assertEqual(sh.receive_overlong(T0), [OVERLONG, "password not changed", P])
        self.assertTrue(sh.wants_echo)
        self.assertEqual(sh.receive_line("x" * 300, T0), [OVERLONG, P])
        self.assertEqual(box.names().count("set_password"), 0)


class RebootTests(TestCase):
    def test_reboot_asks_first(self):
        sh, box = logged_in()
        self.assertEqual(sh.receive_line("reboot", T0), ["reboot? [y/N] "])
        self.assertEqual(sh.prompt, "reboot? [y/N] ")
        self.assertEqual(box.calls, [])

    def test_reboot_happens_on_yes(self):
        for answer in ("y", "Y", "yes", " YES "):
            with self.subTest(answer=answer):
                sh, box = logged_in()
                sh.receive_line("reboot", T0)
                self.assertEqual(sh.receive_line(answer, T0), ["rebooting"])
                self.assertEqual(sh.prompt, "")
                self.assertTrue(sh.wants_reboot)
                self.assertFalse(sh.logged_in)
                self.assertEqual(box.names(), ["reboot"])

    def test_reboot_is_cancelled_by_anything_but_yes(self):
        for answer in ("", "n", "no", "yes please", "ja", "reboot"):
            with self.subTest(answer=answer):
                sh, box = logged_in()
                sh.receive_line("reboot", T0)
                self.assertEqual(sh.receive_line(answer, T0), ["reboot cancelled", P])
                self.assertFalse(sh.wants_reboot)
                self.assertEqual(box.names(), ["diff"])

    def test_reboot_is_cancelled_by_an_overlong_line(self):
        sh, box = logged_in()
        sh.receive_line("reboot", T0)
        self.assertEqual(sh.receive_overlong(T0), [OVERLONG, "reboot cancelled", P])
        self.assertFalse(sh.wants_reboot)

    def test_shell_refuses_input_once_rebooting(self):
        sh, box = logged_in()
        sh.receive_line("reboot", T0)
        sh.receive_line("y", T0)
        box.calls = []
        self.assertEqual(sh.receive_line("show running", T0), ["reboot in progress"])
        self.assertEqual(sh.receive_overlong(T0), ["reboot in progress"])
        self.assertEqual(sh.start(T0), ["edgegate console", "reboot in progress"])
        self.assertEqual(sh.tick(T0 + 10 ** 7), [])
        self.assertTrue(sh.wants_reboot)
        self.assertEqual(box.names(), ["tick"])

    def test_reboot_refused_by_the_box_keeps_the_session(self):
        sh, box = logged_in()
        box.raises["reboot"] = OpsError("a commit confirmed is pending")
        sh.receive_line("reboot", T0)
        self.assertEqual(sh.receive_line("y", T0), ["error: a commit confirmed is pending", P])
        self.assertFalse(sh.wants_reboot)
        self.assertEqual(sh.receive_line("reboot now", T0), ["usage: reboot", P])


class LogoutTests(TestCase):
    def test_logout_returns_to_the_password_prompt(self):
        sh, box = logged_in()
        self.assertEqual(sh.receive_line("logout", T0), ["logged out", PW])
        self.assertFalse(sh.logged_in)
        self.assertFalse(sh.wants_echo)
        self.assertEqual(sh.receive_line("show running", T0), ["login incorrect", PW])
        self.assertEqual(box.names(), ["check_password"])

    def test_logout_takes_no_arguments(self):
        sh, box = logged_in()
        self.assertEqual(sh.receive_line("logout now", T0), ["usage: logout", P])
        self.assertTrue(sh.logged_in)


class OverlongTests(TestCase):
    """A line over max_line_bytes is refused; the session goes on."""

    def test_receive_overlong_refuses_the_line_and_keeps_the_session(self):
        sh, box = logged_in()
        self.assertEqual(sh.receive_overlong(T0), [OVERLONG, P])
        self.assertTrue(sh.logged_in)
        self.assertEqual(sh.receive_line("show diff", T0), ["no staged changes", P])

    def test_receive_line_refuses_a_line_over_max_line_bytes(self):
        sh, box = logged_in()
        self.assertEqual(sh.receive_line("set a " + "x" * 251, T0), [OVERLONG, P])
        self.assertEqual(box.names(), ["diff"])
        self.assertEqual(sh.receive_line("set a " + "x" * 250, T0), [PS])

    def test_receive_line_counts_bytes_not_characters(self):
        sh, box = logged_in(max_line_bytes=16)
        refused = "error: line longer than 16 bytes refused"
        self.assertEqual(sh.receive_line("set a " + "\u00e9" * 6, T0), [refused, P])
        self.assertEqual(sh.receive_line("set a " + "\u00e9" * 5, T0), [PS])
        self.assertEqual(box.calls[-2], ("set", "a", "\u00e9" * 5))

    def test_overlong_lines_at_the_password_prompt_are_not_attempts(self):
        box = FakeBox()
        sh = Shell(box, max_failures=1)
        sh.start(T0)
        for _ in range(3):
            self.assertEqual(sh.receive_overlong(T0), [OVERLONG, PW])
            self.assertEqual(sh.receive_line("p" * 257, T0), [OVERLONG, PW])
        self.assertEqual(box.calls, [])
        self.assertTrue(sh.receive_line(PASSWORD, T0)[0].startswith("logged in"))


class InternalErrorTests(TestCase):
    """An unexpected exception from the box prints 'error: internal error' and keeps the session."""

    def test_internal_error_keeps_the_session(self):
        sh, box = logged_in()
        exc = KeyError("routes")
        box.raises["running"] = exc
        self.assertEqual(sh.receive_line("show running", T0), ["error: internal error", P])
        self.assertEqual(sh.internal_errors, 1)
        self.assertIs(sh.last_error, exc)
        self.assertTrue(sh.logged_in)
        self.assertEqual(sh.receive_line("show diff", T0), ["no staged changes", P])

    def test_every_command_isolates_an_internal_error(self):
        for method, line in (("running", "show running"), ("staged", "show staged"),
                             ("status", "show status"), ("connections", "show connections"),
                             ("routes", "show routes"), ("bans", "show bans"),
                             ("metrics", "show metrics"), ("log", "show log 3"), ("set", "set a 1"),
                             ("unset", "unset a"), ("commit", "commit"),
                             ("commit", "commit confirmed 5"), ("confirm", "confirm"),
                             ("rollback", "rollback"), ("discard", "discard"), ("kick", "kick 7"),
                             ("ban", "ban 10.0.0.9 5"), ("unban", "unban 10.0.0.9")):
            with self.subTest(line=line):
                sh, box = logged_in()
                box.raises[method] = ValueError("boom")
                self.assertEqual(sh.receive_line(line, T0), ["error: internal error", P])
                self.assertEqual(sh.internal_errors, 1)
                self.assertTrue(sh.logged_in)

    def test_show_diff_raising_is_an_internal_error_and_the_prompt_falls_back(self):
        sh, box = logged_in()
        box.raises["diff"] = RuntimeError("x")
        self.assertEqual(sh.receive_line("show diff", T0), ["error: internal error", P])
        self.assertEqual(sh.internal_errors, 2)  # the command, then the prompt

    def test_answers_of_the_wrong_shape_are_internal_errors(self):
        for attr, value, line in (("status_pairs", [1], "show status"),
                                  ("conns", ["not a dict"], "show connections"),
                                  ("counters", None, "show metrics"),
                                  ("records", 5, "show log")):
            with self.subTest(line=line):
                sh, box = logged_in()
                setattr(box, attr, value)
                self.assertEqual(sh.receive_line(line, T0), ["error: internal error", P])

    def test_set_password_raising_ends_passwd(self):
        sh, box = logged_in()
        box.raises["set_password"] = RuntimeError("flash full")
        sh.receive_line("passwd", T0)
        sh.receive_line(PASSWORD, T0)
        sh.receive_line("battery staple", T0)
        self.assertEqual(sh.receive_line("battery staple", T0), ["error: internal error", P])
        self.assertTrue(sh.wants_echo)
        self.assertTrue(sh.logged_in)

    def test_reboot_raising_does_not_reboot(self):
        sh, box = logged_in()
        box.raises["reboot"] = RuntimeError("x")
        sh.receive_line("reboot", T0)
        self.assertEqual(sh.receive_line("y", T0), ["error: internal error", P])
        self.assertFalse(sh.wants_reboot)

    def test_a_line_that_is_not_a_string_is_an_internal_error(self):
        sh, box = logged_in()
        self.assertEqual(sh.receive_line(12, T0), ["error: internal error", P])
        self.assertTrue(sh.logged_in)


class IdleTests(TestCase):
    """idle_logout_ms without input ends the session."""

    def test_tick_logs_out_an_idle_session(self):
        sh, box = logged_in()
        self.assertEqual(sh.tick(T0 + 599999), [])
        self.assertTrue(sh.logged_in)
        self.assertEqual(sh.tick(T0 + 600000), ["", "logged out: idle for 600 s", PW])
        self.assertFalse(sh.logged_in)
        self.assertEqual(sh.tick(T0 + 10 ** 7), [])

    def test_input_restarts_the_idle_timer(self):
        sh, box = logged_in(idle_logout_ms=1000)
        sh.receive_line("", T0 + 999)
        self.assertEqual(sh.tick(T0 + 1998), [])
        sh.receive_overlong(T0 + 1998)
        self.assertEqual(sh.tick(T0 + 2997), [])
        self.assertEqual(sh.tick(T0 + 2998), ["", "logged out: idle for 1 s", PW])

    def test_a_line_typed_after_the_timeout_is_not_run(self):
        sh, box = logged_in()
        self.assertEqual(sh.receive_line("commit", T0 + 600000), ["logged out: idle for 600 s", PW])
        self.assertEqual(box.calls, [])
        self.assertFalse(sh.logged_in)

    def test_idle_logout_ends_passwd(self):
        sh, box = logged_in()
        sh.receive_line("passwd", T0)
        sh.receive_line(PASSWORD, T0)
        self.assertEqual(sh.tick(T0 + 600000), ["", "logged out: idle for 600 s", PW])
        sh.receive_line(PASSWORD, T0 + 600001)
        self.assertEqual(sh.receive_line("x", T0 + 600002), ["error: unknown command 'x' (try help)", P])

    def test_password_prompt_has_no_idle_timeout(self):
        sh = Shell(FakeBox())
        sh.start(T0)
        self.assertEqual(sh.tick(T0 + 10 ** 8), [])
        self.assertTrue(sh.receive_line(PASSWORD, T0 + 10 ** 8)[0].startswith("logged in"))


class TickTests(TestCase):
    """tick forwards ops.tick (automatic rollback and the like)."""

    def test_tick_prints_what_the_box_says(self):
        sh, box = logged_in()
        self.assertEqual(sh.tick(T0 + 5), [])
        box.tick_lines = ["commit not confirmed in 30 s: rolled back"]
        self.assertEqual(sh.tick(T0 + 6), ["", "commit not confirmed in 30 s: rolled back", P])
        self.assertEqual(box.calls, [("tick", T0 + 5), ("tick", T0 + 6), ("diff",)])

    def test_tick_keeps_box_messages_for_the_next_login(self):
        box = FakeBox()
        sh = Shell(box)
        sh.start(T0)
        box.tick_lines = ["rolled back"]
        self.assertEqual(sh.tick(T0), [])
        self.assertEqual(box.calls, [("tick", T0)])
        self.assertEqual(sh.receive_line(PASSWORD, T0), [
            "logged in (help lists the commands)", "while nobody was logged in:", "  rolled back", P])
        sh.receive_line("logout", T0)
        self.assertEqual(sh.receive_line(PASSWORD, T0), ["logged in (help lists the commands)", P])

    def test_tick_keeps_only_the_last_16_messages(self):
        box = FakeBox()
        sh = Shell(box)
        for i in range(40):
            box.tick_lines = ["m%d" % i]
            sh.tick(T0 + i)
        out = sh.receive_line(PASSWORD, T0 + 40)
        self.assertEqual(out[2:-1], ["  m%d" % i for i in range(24, 40)])

    def test_tick_reports_a_raising_box_once(self):
        sh, box = logged_in()
        box.raises["tick"] = RuntimeError("x")
        self.assertEqual(sh.tick(T0), ["", "error: internal error", P])
        self.assertEqual(sh.tick(T0 + 1), [])
        self.assertEqual(sh.internal_errors, 2)
        del box.raises["tick"]
        self.assertEqual(sh.tick(T0 + 2), [])
        box.raises["tick"] = RuntimeError("y")
        self.assertEqual(sh.tick(T0 + 3), ["", "error: internal error", P])

    def test_tick_prints_box_messages_before_an_idle_logout(self):
        sh, box = logged_in()
        box.tick_lines = ["rolled back"]
        self.assertEqual(sh.tick(T0 + 600000), ["", "rolled back", "logged out: idle for 600 s", PW])


class PrettyJsonTests(TestCase):
    """pretty_json: indented, keys sorted, ASCII; CPython json.dumps(indent=2, sort_keys=True)."""

    def test_pretty_json_writes_scalars(self):
        for value, text in ((None, "null"), (True, "true"), (False, "false"), (0, "0"),
                            (-12, "-12"), (2 ** 70, "1180591620717411303424"), ("", "\"\""),
                            ("a b", "\"a b\"")):
            with self.subTest(value=value):
                self.assertEqual(pretty_json(value), [text])

    def test_pretty_json_writes_empty_and_nested_containers(self):
        self.assertEqual(pretty_json({}), ["{}"])
        self.assertEqual(pretty_json([]), ["[]"])
        self.assertEqual(pretty_json({"b": [1, [], {}], "a": {"z": None, "y": (True,)}}), [
            "{",
            "  \"a\": {",
            "    \"y\": [",
            "      true",
            "    ],",
            "    \"z\": null",
            "  },",
            "  \"b\": [",
            "    1,",
            "    [],",
            "    {}",
            "  ]",
            "}"])

    def test_pretty_json_writes_keys_that_are_not_strings_as_json_would(self):
        self.assertEqual(pretty_json({2: "b", 10: "a", None: 0, True: 1}),
                         ["{", "  \"10\": \"a\",", "  \"2\": \"b\",", "  \"null\": 0,",
                          "  \"true\": 1", "}"])

    def test_pretty_json_writes_other_values_as_text(self):
        self.assertEqual(pretty_json([1.5, b"x", {(1, 2): 0}]),
                         ["[", "  1.5,", "  \"b'x'\",", "  {", "    \"(1, 2)\": 0", "  }", "]"])

    def test_json_string_escapes_like_cpython_json(self):
        for s, text in (("plain", "\"plain\""), ("q\"b\\", "\"q\\\"b\\\\\""),
                        ("\n\r\t\b\f", "\"\\n\\r\\t\\b\\f\""), ("\x00\x1b\x7f", "\"\\u0000\\u001b\\u007f\""),
                        ("caf\u00e9", "\"caf\\u00e9\""), ("\u2028", "\"\\u2028\""),
                        ("\U0001F600", "\"\\ud83d\\ude00\"")):
            with self.subTest(s=s):
                self.assertEqual(json_string(s), text)

    def test_show_escapes_strings_in_documents(self):
        sh, box = logged_in()
        box.running_doc = {"banner": "\x1b[31mred\u00e9"}
        self.assertEqual(sh.receive_line("show running", T0),
                         ["{", "  \"banner\": \"\\u001b[31mred\\u00e9\"", "}", P])
