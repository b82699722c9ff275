"""Where a dev server's outbound messages go: the built-in fake Twilio when no credentials are
set, its status callbacks signed so a dev server that checks signatures takes them; the real
Twilio, said so without a secret, when credentials are set (issue 11)."""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
from pathlib import Path

from bot.dev.signing import sign
from tests.devserver.server import OURS, PROJECT, environment, serving

TOKEN = "dev-token-0123456789abcdef012345"
PUBLIC = "https://bot.example.test"


def test_callbacks_are_signed_for_the_public_url_and_checked(tmp_path: Path) -> None:
    (tmp_path / "nudgebot.py").write_text(PROJECT)
    env = environment(TWILIO_AUTH_TOKEN=TOKEN, SWITCHBOARD_PUBLIC_URL=PUBLIC)
    args = ("--dev", "--app", "nudgebot:app", "--database", f"sqlite:///{tmp_path / 'd.db'}")
    with serving(tmp_path, *args, env=env) as server:
        for n, body in enumerate(("hi", "later"), start=1):
            form = [("From", "+15550004444"), ("To", OURS), ("Body", body),
                    ("MessageSid", f"SM{n:032x}")]  # fmt: skip
            assert server.text(form[0][1], body, form[3][1])[0] == 403  # unsigned: refused
            signed = urllib.request.Request(
                server.url + "/twilio", data=urllib.parse.urlencode(form).encode(),
                headers={"X-Twilio-Signature": sign(PUBLIC + "/twilio", form, TOKEN)},
            )  # fmt: skip
            urllib.request.urlopen(signed, timeout=20).close()
        moved = server.request("/dev/clock", json.dumps({"advance": "2h"}).encode())
        assert moved[0] == 200 and json.loads(moved[1])["fired"] == 1
        log = server.wait_for(": delivered (")
    assert "signatures ARE checked" in log
    assert ": sent (the app answered 204)" in log and ": delivered (the app answered 204)" in log
    assert TOKEN not in log


def test_real_credentials_are_named_without_a_secret(tmp_path: Path) -> None:
    (tmp_path / "nudgebot.py").write_text(PROJECT)
    account, secret = "AC" + "12ab" * 8, "s3cret-api-key-secret-value-0123"
    env = environment(
        TWILIO_ACCOUNT_SID=account, TWILIO_API_KEY_SID="SK" + "9" * 32,
        TWILIO_API_KEY_SECRET=secret, SWITCHBOARD_TWILIO_API_URL="http://127.0.0.1:9",
    )  # fmt: skip
    args = ("--dev", "--app", "nudgebot:app", "--database", f"sqlite:///{tmp_path / 'd.db'}")
    with serving(tmp_path, *args, env=env) as server:
        log = server.log()
    assert (
        "outbound: Twilio credentials are set, so messages are REALLY sent through "
        "http://127.0.0.1:9 (account AC12…12ab); unset TWILIO_ACCOUNT_SID to use the built-in "
        "fake"
    ) in log
    assert "fake Twilio" not in log and secret not in log and account not in log
