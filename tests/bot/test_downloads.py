"""Which addresses get the bot token: Slack's file host in production, the stand-in's in tests
(the real-path tests in test_slack_compose.py cover the stand-in; these cover slack.com)."""

from __future__ import annotations

import pytest
from yarl import URL

from bot.slack.downloads import is_slack_file, slack_file_origins
from campaigns.settings import DEFAULT_SLACK_API_URL

SLACK = slack_file_origins(DEFAULT_SLACK_API_URL)


@pytest.mark.parametrize(
    ("address", "gets_the_token"),
    [
        ("https://files.slack.com/files-pri/T0-F0/download/list.csv", True),
        ("https://FILES.SLACK.COM/files-pri/T0-F0/list.csv", True),
        ("http://files.slack.com/files-pri/T0-F0/list.csv", False),  # in clear text
        ("https://files.slack.com:8443/files-pri/T0-F0/list.csv", False),
        ("https://files.slack.com.example.com/list.csv", False),
        ("https://example.com/files.slack.com/list.csv", False),
        ("https://evil.example@files.slack.com/list.csv", False),  # credentials in the address
        ("https://169.254.169.254/latest/meta-data/", False),
        ("file:///etc/passwd", False),
    ],
)
def test_only_slacks_file_host_gets_the_token(address: str, gets_the_token: bool) -> None:
    assert is_slack_file(URL(address), SLACK) is gets_the_token


def test_another_api_address_adds_its_own_host_and_files_host_only() -> None:
    origins = slack_file_origins("http://127.0.0.1:8765/api/")
    assert is_slack_file(URL("http://127.0.0.1:8765/files-pri/T0-F0/list.csv"), origins)
    assert not is_slack_file(URL("http://127.0.0.1:8766/files-pri/T0-F0/list.csv"), origins)
    gov = slack_file_origins("https://slack-gov.com/api/")
    assert is_slack_file(URL("https://files.slack-gov.com/files-pri/T0-F0/list.csv"), gov)
