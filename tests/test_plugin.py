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
