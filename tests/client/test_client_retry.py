"""Retries, backoff, Retry-After, timeouts and the overall deadline, against a real server."""

from __future__ import annotations

import email.utils
import time

import pytest
from client_support import USER, FakeClock, make_client
from fakeserver import (
    FakeServer,
    Reply,
    chunk,
    completion,
    hang_reply,
    json_reply,
    raw_reply,
    reset_reply,
    sse_reply,
    trickle_reply,
)

from agentloop import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    BadRequestError,
    ChatClient,
    InternalServerError,
    RateLimitError,
    StreamError,
)
from agentloop.client.chat import Timeout
from agentloop.client.retry import Clock, RetryPolicy, parse_retry_after

OK = json_reply(completion("done"))
ERR = {"error": {"message": "try later", "type": "server_error"}}


def failing(status: int, **headers: str) -> Reply:
    return json_reply(ERR, status=status, headers=headers)


def test_retry_after_seconds_is_slept_exactly(fake_server: FakeServer) -> None:
    fake_server.script(
        failing(429, **{"Retry-After": "1"}), failing(429, **{"Retry-After": "1"}), OK
    )
    clock = FakeClock()
    resp = make_client(fake_server, clock).create(model="m", messages=USER)
    assert resp.message.content == "done"
    assert clock.sleeps == [1.0, 1.0]
    bodies = {r.body for r in fake_server.requests}
    assert len(fake_server.requests) == 3 and len(bodies) == 1


def test_retry_after_ms_wins(fake_server: FakeServer) -> None:
    fake_server.script(failing(429, **{"retry-after-ms": "250", "Retry-After": "5"}), OK)
    clock = FakeClock()
    make_client(fake_server, clock).create(model="m", messages=USER)
    assert clock.sleeps == [0.25]


def test_retry_after_http_date(fake_server: FakeServer) -> None:
    clock = FakeClock()
    date = email.utils.formatdate(clock.now + 3, usegmt=True)
    fake_server.script(failing(503, **{"Retry-After": date}), OK)
    make_client(fake_server, clock).create(model="m", messages=USER)
    assert clock.sleeps == [3.0]


@pytest.mark.parametrize("value", ["3600", "61", "99999999999999999999"])
def test_retry_after_above_cap_fails_fast(fake_server: FakeServer, value: str) -> None:
    fake_server.script(failing(429, **{"Retry-After": value}), OK)
    clock = FakeClock()
    with pytest.raises(RateLimitError):
        make_client(fake_server, clock).create(model="m", messages=USER)
    assert clock.sleeps == []
    assert len(fake_server.requests) == 1


@pytest.mark.parametrize(
    "value",
    [
        "-10",
        "0",
        "nan",
        "inf",
        "",
        "abc",
        "Zun, 29 Sep 2023 16:26:27 GMT",
        "Fri, 29 Sep 100000 16:26:27 GMT",
    ],
)
def test_unusable_retry_after_falls_back_to_backoff(fake_server: FakeServer, value: str) -> None:
    fake_server.script(
        failing(503, **{"Retry-After": value}), failing(503, **{"Retry-After": value}), OK
    )
    clock = FakeClock(rand=0.5)
    make_client(fake_server, clock).create(model="m", messages=USER)
    # min(0.5 * 2**n, 8) * (1 - 0.25 * 0.5)
    assert clock.sleeps == [0.4375, 0.875]


def test_backoff_is_jittered_and_capped() -> None:
    clock = FakeClock(rand=0.0)
    policy = RetryPolicy(max_retries=10, clock=clock)
    assert [policy.delay(n) for n in range(6)] == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0]
    clock.rand = 0.999
    low = policy.delay(1)
    assert low is not None and 0.75 <= low < 0.76
    assert RetryPolicy(max_retries=2, clock=clock).delay(2) is None


def test_parse_retry_after_table() -> None:
    now = 1_700_000_000.0
    assert parse_retry_after({"retry-after": "20"}, now) == 20.0
    assert parse_retry_after({"retry-after": "1.5"}, now) == 1.5
    assert parse_retry_after({"retry-after-ms": "abc", "retry-after": "2"}, now) == 2.0
    assert parse_retry_after({"retry-after": email.utils.formatdate(now - 5)}, now) is None
    assert parse_retry_after({}, now) is None


def test_5xx_exhausts_retries(fake_server: FakeServer) -> None:
    fake_server.script(failing(500), failing(502), failing(503), OK)
    clock = FakeClock()
    with pytest.raises(InternalServerError) as info:
        make_client(fake_server, clock).create(model="m", messages=USER)
    assert info.value.status_code == 503
    assert "try later" in str(info.value)
    assert len(fake_server.requests) == 3
    assert clock.sleeps == [0.4375, 0.875]
    assert fake_server.connections == 1  # error bodies are read, the connection is reused


def test_408_and_409_are_retried(fake_server: FakeServer) -> None:
    fake_server.script(failing(408), failing(409), OK)
    clock = FakeClock()
    assert (
        make_client(fake_server, clock).create(model="m", messages=USER).message.content == "done"
    )
    assert len(fake_server.requests) == 3
    assert clock.sleeps == [0.4375, 0.875]


def test_429_without_retry_after_backs_off_and_gives_up(fake_server: FakeServer) -> None:
    fake_server.script(failing(429), failing(429), failing(429), OK)
    clock = FakeClock(rand=0.0)
    with pytest.raises(RateLimitError):
        make_client(fake_server, clock).create(model="m", messages=USER)
    assert clock.sleeps == [0.5, 1.0]
    assert len(fake_server.requests) == 3  # default: 2 retries


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
def test_other_4xx_are_never_retried(fake_server: FakeServer, status: int) -> None:
    fake_server.script(failing(status), OK)
    clock = FakeClock()
    with pytest.raises(APIStatusError):
        make_client(fake_server, clock).create(model="m", messages=USER)
    assert len(fake_server.requests) == 1 and clock.sleeps == []


def test_x_should_retry_overrides(fake_server: FakeServer) -> None:
    fake_server.script(failing(503, **{"x-should-retry": "false"}))
    with pytest.raises(InternalServerError):
        make_client(fake_server).create(model="m", messages=USER)
    assert len(fake_server.requests) == 1
    clock = FakeClock()
    fake_server.script(failing(400, **{"x-should-retry": "true"}), OK)
    assert (
        make_client(fake_server, clock).create(model="m", messages=USER).message.content == "done"
    )
    assert len(fake_server.requests) == 3
    assert clock.sleeps == [0.4375]


def test_quota_exhausted_429_is_not_retried(fake_server: FakeServer) -> None:
    fake_server.script(
        json_reply(
            {
                "error": {
                    "message": "quota",
                    "type": "insufficient_quota",
                    "code": "insufficient_quota",
                }
            },
            status=429,
        ),
        OK,
    )
    with pytest.raises(RateLimitError):
        make_client(fake_server).create(model="m", messages=USER)
    assert len(fake_server.requests) == 1


def test_gemini_retry_delay_in_body(fake_server: FakeServer) -> None:
    body = [
        {
            "error": {
                "code": 429,
                "status": "RESOURCE_EXHAUSTED",
                "message": "slow",
                "details": [
                    {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "2s"}
                ],
            }
        }
    ]
    fake_server.script(json_reply(body, status=429), OK)
    clock = FakeClock()
    make_client(fake_server, clock).create(model="m", messages=USER)
    assert clock.sleeps == [2.0]


def test_max_retries_zero(fake_server: FakeServer) -> None:
    fake_server.script(failing(503), OK)
    with pytest.raises(InternalServerError):
        make_client(fake_server, max_retries=0).create(model="m", messages=USER)
    assert len(fake_server.requests) == 1


def test_reset_before_response_is_retried(fake_server: FakeServer) -> None:
    fake_server.script(reset_reply(), OK)
    clock = FakeClock()
    assert (
        make_client(fake_server, clock).create(model="m", messages=USER).message.content == "done"
    )
    assert clock.sleeps == [0.4375]


def test_reset_every_time_is_a_connection_error(fake_server: FakeServer) -> None:
    fake_server.script(reset_reply(), reset_reply(), reset_reply())
    with pytest.raises(APIConnectionError):
        make_client(fake_server).create(model="m", messages=USER)
    assert len(fake_server.requests) == 3


def test_read_timeout_before_headers(fake_server: FakeServer) -> None:
    # The server would stay silent for 60 s per attempt and then hang up (a connection
    # error, not a timeout): only the 0.2 s read timeout turns it into APITimeoutError.
    fake_server.script(hang_reply(60), hang_reply(60), hang_reply(60))
    clock = FakeClock()
    with pytest.raises(APITimeoutError, match="ReadTimeout"):
        make_client(fake_server, clock, timeout=(1.0, 0.2)).create(model="m", messages=USER)
    assert len(fake_server.requests) == 3 and clock.sleeps == [0.4375, 0.875]


def test_body_cut_short_is_retried(fake_server: FakeServer) -> None:
    cut = Reply(
        headers={"Content-Type": "application/json", "Content-Length": "500"},
        body=[b'{"id": "x", "choi'],
        close=True,
    )
    fake_server.script(cut, OK)
    assert make_client(fake_server).create(model="m", messages=USER).message.content == "done"


def test_deadline_stops_a_trickling_stream(fake_server: FakeServer) -> None:
    fake_server.script(trickle_reply(b": keep-alive\n\n", every=0.05))
    client = make_client(fake_server, timeout=Timeout(connect=1, read=1, total=0.5))
    stream = client.stream(model="m", messages=USER)
    # The trickle never ends and never stays silent for the 1 s read timeout: only the
    # overall deadline can stop it.
    with pytest.raises(APITimeoutError, match=r"within its 0\.5 s deadline"):
        list(stream)
    assert len(fake_server.requests) == 1


def test_deadline_stops_a_trickling_plain_body(fake_server: FakeServer) -> None:
    def body():
        yield b'{"id": "x",'
        while True:
            yield b" "
            yield 0.05

    fake_server.script(raw_reply(body(), chunked=False, content_type="application/json"))
    client = make_client(fake_server, timeout=Timeout(connect=1, read=1, total=0.4))
    with pytest.raises(APITimeoutError, match=r"within its 0\.4 s deadline"):  # endless body
        client.create(model="m", messages=USER)
    assert len(fake_server.requests) == 1


def test_deadline_bounds_waiting_for_headers(
    fake_server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_server.script(hang_reply(90))
    client = make_client(fake_server, timeout=Timeout(connect=1, read=60, total=0.3))
    timeouts: list[tuple[float, float]] = []
    post = client._session.post

    def spy(*args, **kwargs):
        timeouts.append(kwargs["timeout"])
        return post(*args, **kwargs)

    monkeypatch.setattr(client._session, "post", spy)
    with pytest.raises(APITimeoutError, match=r"within its 0\.3 s deadline"):
        client.create(model="m", messages=USER)
    # The wait for headers is cut to what is left of the deadline, not the 60 s read timeout.
    assert len(timeouts) == 1 and all(0 < t <= 0.3 for t in timeouts[0])
    assert len(fake_server.requests) == 1


def test_real_clock_retry_after(fake_server: FakeServer) -> None:
    """The one real-clock test: it really waits; only a lower bound (no speed check)."""
    fake_server.script(failing(429, **{"retry-after-ms": "200"}), OK)
    start = time.monotonic()
    resp = make_client(fake_server, Clock()).create(model="m", messages=USER)
    elapsed = time.monotonic() - start
    assert resp.message.content == "done" and len(fake_server.requests) == 2
    assert elapsed >= 0.2


def test_real_clock_backoff_with_the_default_clock(
    fake_server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_server.script(failing(503), OK)
    client = ChatClient(base_url=fake_server.base_url, api_key="k")  # real Clock by default
    slept: list[float] = []
    monkeypatch.setattr(time, "sleep", slept.append)  # what the default Clock sleeps on
    assert client.create(model="m", messages=USER).message.content == "done"
    assert len(slept) == 1 and 0.375 <= slept[0] <= 0.5  # min(0.5 * 2**0, 8) * U(0.75, 1]
    assert len(fake_server.requests) == 2


def test_retry_wait_longer_than_the_deadline_fails_fast(fake_server: FakeServer) -> None:
    fake_server.script(failing(429, **{"Retry-After": "30"}), OK)
    clock = FakeClock()
    client = make_client(fake_server, clock, timeout=Timeout(connect=1, read=1, total=5))
    with pytest.raises(RateLimitError):
        client.create(model="m", messages=USER)
    assert clock.sleeps == []


# -- streams --------------------------------------------------------------------------------

STREAM = sse_reply([chunk("a", role="assistant"), chunk("b"), chunk(finish="stop")])


def test_stream_status_errors_are_retried(fake_server: FakeServer) -> None:
    fake_server.script(failing(503), STREAM)
    clock = FakeClock()
    stream = make_client(fake_server, clock).stream(model="m", messages=USER)
    assert stream.response.message.content == "ab"
    assert clock.sleeps == [0.4375]


def test_stream_status_error_raises_at_call(fake_server: FakeServer) -> None:
    fake_server.script(failing(400))
    with pytest.raises(BadRequestError):
        make_client(fake_server).stream(model="m", messages=USER)


@pytest.mark.parametrize(
    "broken",
    [
        sse_reply([b": keep-alive\n\n"], done=False),
        reset_reply([b'data: {"choices": [{"delta": {"role": "assistant"}}]}\n\n'], status=200),
        sse_reply([{"error": {"message": "overloaded", "type": "overloaded_error"}}]),
        sse_reply(
            [b'{"error": {"code": 503, "message": "The model is overloaded."}}\n'], done=False
        ),
    ],
)
def test_stream_failing_before_any_event_is_retried(fake_server: FakeServer, broken: Reply) -> None:
    fake_server.script(broken, STREAM)
    clock = FakeClock()
    events = list(make_client(fake_server, clock).stream(model="m", messages=USER))
    assert len(events) == 3
    assert len(fake_server.requests) == 2 and len(clock.sleeps) == 1


def test_stream_error_event_before_any_event_not_retryable(fake_server: FakeServer) -> None:
    fake_server.script(
        sse_reply([{"error": {"message": "context too long", "type": "invalid_request_error"}}]),
        STREAM,
    )
    with pytest.raises(BadRequestError, match="context too long"):
        list(make_client(fake_server).stream(model="m", messages=USER))
    assert len(fake_server.requests) == 1


def test_stream_is_not_retried_after_yielding(fake_server: FakeServer) -> None:
    fake_server.script(sse_reply([chunk("partial")], done=False), STREAM)
    clock = FakeClock()
    with pytest.raises(StreamError) as info:
        list(make_client(fake_server, clock).stream(model="m", messages=USER))
    assert info.value.partial_text == "partial"
    assert len(fake_server.requests) == 1 and clock.sleeps == []


def test_stream_truncated_every_time(fake_server: FakeServer) -> None:
    keep_alive_only = [b": keep-alive\n\n"]
    fake_server.script(*[sse_reply(keep_alive_only, done=False)] * 3)
    with pytest.raises(StreamError, match="ended before any data"):
        list(make_client(fake_server).stream(model="m", messages=USER))
    assert len(fake_server.requests) == 3


def test_empty_200_stream_names_the_cause_and_is_not_retried(fake_server: FakeServer) -> None:
    fake_server.script(sse_reply([], done=False), STREAM)
    with pytest.raises(StreamError) as info:
        list(make_client(fake_server).stream(model="m", messages=USER))
    message = str(info.value)
    assert "empty stream" in message and "server" in message and "log" in message
    assert 'tool_choice "auto"' in message and "llamacpp:" in message
    assert len(fake_server.requests) == 1


def test_stream_read_timeout_after_data(fake_server: FakeServer) -> None:
    # Without the read timeout the stream would simply finish after the 60 s pause.
    fake_server.script(sse_reply([chunk("a"), 60.0, chunk(finish="stop")]))
    with pytest.raises(APITimeoutError, match=r"for 0\.3 s \(read timeout\)"):
        list(make_client(fake_server, timeout=(1.0, 0.3)).stream(model="m", messages=USER))
    assert len(fake_server.requests) == 1


def test_no_deadline_and_no_read_timeout(fake_server: FakeServer) -> None:
    fake_server.script(sse_reply([chunk("a"), 0.1, chunk(finish="stop")]), OK)
    client = make_client(fake_server, timeout=Timeout(connect=None, read=None, total=None))
    assert client.stream(model="m", messages=USER).response.message.content == "a"
    assert client.create(model="m", messages=USER).message.content == "done"


def test_read_timeout_with_no_total_deadline(fake_server: FakeServer) -> None:
    # no overall deadline: the read timeout alone decides, and it is a timeout, not a crash
    fake_server.script(hang_reply(60))
    client = make_client(
        fake_server, timeout=Timeout(connect=1.0, read=0.2, total=None), max_retries=0
    )
    with pytest.raises(APITimeoutError, match="ReadTimeout"):
        client.create(model="m", messages=USER)
