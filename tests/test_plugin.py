"""The pytest plugin collects transcripts and reports mismatches readably (via pytester)."""

from __future__ import annotations

import pytest

INI = "[pytest]\nswitchboard_app = flows:build\nasyncio_default_fixture_loop_scope = function\n"

GOOD = """\
flow: support
from: +15550003333
to: +15550100000

> hi
< /Hi! Reply 1 .*/
> 3
< We're open Monday to Friday, 9am to 6pm.
"""


def write(pytester: pytest.Pytester, **files: str) -> None:
    pytester.makeini(INI)
    for name, text in files.items():
        (pytester.path / f"{name}.transcript").write_text(text, encoding="utf-8")


def test_a_passing_transcript_is_one_passing_test(pytester: pytest.Pytester) -> None:
    write(pytester, good=GOOD)
    result = pytester.runpytest("-v")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*good.transcript::good PASSED*"])


def test_a_mismatch_names_the_file_turn_expected_and_actual(pytester: pytest.Pytester) -> None:
    write(pytester, bad=GOOD.replace("9am to 6pm", "8am to 8pm"))
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*bad.transcript:7, turn 2 (> 3)",
            "  expected:",
            "    < We're open Monday to Friday, 8am to 8pm.",
            "  actual:",
            "    < We're open Monday to Friday, 9am to 6pm.",
        ]
    )
    assert "Traceback" not in result.stdout.str()


def test_an_expected_silence_that_gets_a_reply_fails(pytester: pytest.Pytester) -> None:
    write(
        pytester, silent=GOOD.replace("< We're open Monday to Friday, 9am to 6pm.", "< (no reply)")
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["    < (no reply)", "  actual:", "    < We're open*"])


def test_a_syntax_error_names_the_line(pytester: pytest.Pytester) -> None:
    write(pytester, broken=GOOD + "? what is this\n")
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*broken.transcript:9: cannot read '? what is this'*"])


def test_a_bad_factory_setting_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makeini(INI.replace("flows:build", "nocolon"))
    (pytester.path / "x.transcript").write_text(GOOD, encoding="utf-8")
    result = pytester.runpytest()
    assert result.ret != 0
    result.stdout.fnmatch_lines(["*use module:callable*"])


def test_an_unknown_flow_fails_in_one_line_not_a_500(pytester: pytest.Pytester) -> None:
    write(pytester, unknown=GOOD.replace("flow: support", "flow: nope"))
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*unknown.transcript:1: flow 'nope' is not registered*"])
    assert "Traceback" not in result.stdout.str() and "<html" not in result.stdout.str()


BROKEN_APP = """\
from bot import Flow, T, Router, Settings, create_app


class Broken(Flow):
    name = "broken"
    initial = "start"
    states = ["start"]
    transitions = [T("message", "start", "=", before="no_such_method")]


def build(settings, *, store, clock):
    return create_app([Broken], Router(default="broken"), settings, store=store, clock=clock)
"""


def test_a_broken_flow_fails_each_transcript_in_a_few_lines(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(brokenapp=BROKEN_APP)
    pytester.makeini(INI.replace("flows:build", "brokenapp:build"))
    (pytester.path / "x.transcript").write_text("> hi\n< hello\n", encoding="utf-8")
    # in a subprocess, as a user runs it (in-process pytester re-imports the framework)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    out = result.stdout.str()
    result.stdout.fnmatch_lines(["*could not be built*no_such_method*not a method of the flow*"])
    assert "Traceback" not in out and len(out.splitlines()) < 40


HARNESS_TEST = """\
from bot.testing import Harness
from brokenapp import build


async def test_it() -> None:
    async with Harness(build) as h:
        await h.phone("+15550001111").send("hi")
"""


def test_a_broken_flow_fails_a_harness_test_in_one_line(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(brokenapp=BROKEN_APP, test_harness=HARNESS_TEST)
    pytester.makeini(INI + "asyncio_mode = auto\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    out = result.stdout.str()
    result.stdout.fnmatch_lines(
        ["test_harness.py::test_it: the app could not be built: flow 'broken'*no_such_method*"]
    )
    assert "bot/dev/harness.py" not in out and len(out.splitlines()) < 20, out
    # another traceback style keeps the frames, for whoever wants them
    long = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--tb=long")
    assert "bot/flow/definition.py" in long.stdout.str()
