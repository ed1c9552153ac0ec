"""The client's own session merges settings exactly as ``requests.Session`` does, only cheaper."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from agentloop.client.watchdog import DeadlineAdapter, deadline_session

URL = "http://127.0.0.1:9/v1/chat/completions"


@pytest.mark.parametrize(
    "settings",
    [
        ({}, None, None, None),
        (None, True, False, None),
        ({"http": "http://proxy:3128", "https": None}, False, "/ca.pem", ("/c.pem", "/k.pem")),
    ],
)
def test_settings_merge_like_requests_without_an_environment(settings: tuple[Any, ...]) -> None:
    ours, theirs = deadline_session(), requests.Session()
    ours.trust_env = theirs.trust_env = False  # what ChatClient does after reading it once
    assert ours.merge_environment_settings(URL, *settings) == theirs.merge_environment_settings(
        URL, *settings
    )


def test_session_proxies_and_the_environment_still_go_through_requests(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://env-proxy:8080")
    ours, theirs = deadline_session(), requests.Session()
    assert ours.merge_environment_settings(URL, {}, None, None, None) == (
        theirs.merge_environment_settings(URL, {}, None, None, None)
    )
    ours.trust_env = theirs.trust_env = False
    ours.proxies = {"http": "http://session-proxy:1"}
    theirs.proxies = {"http": "http://session-proxy:1"}
    assert ours.merge_environment_settings(URL, {}, None, None, None)["proxies"] == {
        "http": "http://session-proxy:1"
    }
    assert theirs.merge_environment_settings(URL, {}, None, None, None)["proxies"] == {
        "http": "http://session-proxy:1"
    }


def test_request_params_still_reach_the_url() -> None:
    session = deadline_session()
    prepared = session.prepare_request(requests.Request("GET", URL, params={"a": "1"}))
    assert prepared.url == URL + "?a=1"
    assert session.prepare_request(requests.Request("GET", URL)).url == URL
    assert isinstance(session.get_adapter(URL), DeadlineAdapter)
