"""Tests for agentloop-http: SSRF refusals (RELIABILITY 52-58), limits, text extraction, agent runs."""

from __future__ import annotations

import contextlib
import http.server
import shutil
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest
import urllib3.util.connection
from agentloop_http import HTTPPlugin, URLRefusedError, html_to_text, non_public_reason

from agentloop import ConfigurationError, ToolError

Handler = Callable[[http.server.BaseHTTPRequestHandler], None]


class LocalServer:
    """A threaded HTTP server on 127.0.0.1 that records every request it gets."""

    def __init__(self, handle: Handler) -> None:
        self.requests: list[tuple[str, dict[str, str]]] = []
        server = self

        class _Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                server.requests.append((self.path, {k.lower(): v for k, v in self.headers.items()}))
                with contextlib.suppress(OSError):
                    handle(self)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.httpd.daemon_threads = True
        self.httpd.handle_error = lambda request, address: None  # type: ignore[method-assign]
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    @property
    def hits(self) -> int:
        return len(self.requests)

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def send(
    handler: http.server.BaseHTTPRequestHandler, status: int, body: bytes = b"", **headers: str
) -> None:
    handler.send_response(status)
    fields = {"Content-Type": "text/plain; charset=utf-8"}
    fields.update({name.replace("_", "-"): value for name, value in headers.items()})
    for name, value in fields.items():
        handler.send_header(name, value)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


@pytest.fixture
def serve() -> Iterator[Callable[[Handler], LocalServer]]:
    servers: list[LocalServer] = []

    def start(handle: Handler) -> LocalServer:
        servers.append(LocalServer(handle))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


@pytest.fixture
def canary(serve: Callable[[Handler], LocalServer]) -> LocalServer:
    return serve(lambda h: send(h, 200, b"canary reached"))


@pytest.fixture
def connections(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """Every TCP connect urllib3 makes (the pinned address), still performed for 127.0.0.1."""
    made: list[tuple[str, int]] = []
    real = urllib3.util.connection.create_connection

    def spy(address: tuple[str, int], *args: object, **kwargs: object) -> socket.socket:
        made.append(address)
        return real(address, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(urllib3.util.connection, "create_connection", spy)
    return made


# ---------------------------------------------------------------------------
# RELIABILITY 52: private, loopback and odd spellings are refused before connecting
# ---------------------------------------------------------------------------

BLOCKED = [
    "http://127.0.0.1:{port}/",
    "http://localhost:{port}/",
    "http://[::1]:{port}/",
    "http://169.254.169.254/latest/meta-data/",
    "http://10.0.0.1/",
    "http://192.168.1.1/",
    "http://172.16.0.1/",
    "http://100.64.0.1/",
    "http://[fd00::1]/",
    "http://[fe80::1]/",
    "http://224.0.0.1/",
    "http://240.0.0.1/",
    "http://0.0.0.0:{port}/",
    "http://[::]:{port}/",
    "http://2130706433:{port}/",
    "http://0x7f000001:{port}/",
    "http://0x7f.0.0.1:{port}/",
    "http://017700000001:{port}/",
    "http://127.1:{port}/",
    "http://[::ffff:127.0.0.1]:{port}/",
    "http://[::ffff:7f00:1]:{port}/",
    "http://[2002:7f00:1::]:{port}/",
    "http://[64:ff9b::a00:1]/",
    "http://LOCALHOST.:{port}/",
]


@pytest.mark.parametrize("template", BLOCKED)
def test_blocked_addresses_never_connect(
    template: str, canary: LocalServer, connections: list
) -> None:
    plugin = HTTPPlugin(timeout=2)
    with pytest.raises(URLRefusedError) as info:
        plugin.fetch(template.format(port=canary.port))
    assert info.value.reason
    assert canary.hits == 0
    assert connections == []


def test_stub_resolver_any_private_address_blocks(canary: LocalServer, connections: list) -> None:
    answers = {"public.test": ["127.0.0.1"], "multi.test": ["93.184.216.34", "127.0.0.1"]}
    plugin = HTTPPlugin(resolver=lambda host: answers[host])
    for host in answers:
        with pytest.raises(URLRefusedError, match="127.0.0.1"):
            plugin.fetch(f"http://{host}:{canary.port}/")
    assert canary.hits == 0
    assert connections == []


@pytest.mark.parametrize(
    ("address", "public"),
    [("93.184.216.34", True), ("2606:2800:220:1:248:1893:25c8:1946", True),
     ("100.127.255.255", False), ("::ffff:93.184.216.34", False), ("2002:a00:1::", False),
     ("198.18.0.1", False), ("255.255.255.255", False), ("fe80::1%eth0", False)],
)  # fmt: skip
def test_non_public_reason(address: str, public: bool) -> None:
    assert (non_public_reason(address) is None) is public


# ---------------------------------------------------------------------------
# RELIABILITY 54: redirects are followed by hand, every hop re-checked, capped
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("target", ["http://127.0.0.1:{port}/", "http://localhost:{port}/x",
                                    "http://[::1]:{port}/", "file:///etc/passwd"])  # fmt: skip
def test_redirect_to_blocked_hop_is_refused(serve, canary: LocalServer, target: str) -> None:
    location = target.format(port=canary.port)
    allowed = serve(lambda h: send(h, 302, Location=location))
    plugin = HTTPPlugin(allow_hosts=[f"127.0.0.1:{allowed.port}"])
    with pytest.raises(URLRefusedError):
        plugin.fetch(allowed.url("/start"))
    assert allowed.hits == 1
    assert canary.hits == 0


def test_redirect_chain_longer_than_cap(serve) -> None:
    def hop(h: http.server.BaseHTTPRequestHandler) -> None:
        step = int(h.path.strip("/") or 0)
        if step < 10:
            send(h, 302, Location=f"/{step + 1}")
        else:
            send(h, 200, b"end")

    server = serve(hop)
    plugin = HTTPPlugin(allow_hosts=[f"127.0.0.1:{server.port}"])
    with pytest.raises(ToolError, match="too many redirects"):
        plugin.fetch(server.url("/0"))
    assert server.hits == 6  # the first request plus 5 redirects
    assert "end" in HTTPPlugin(allow_hosts=["127.0.0.1"], max_redirects=10).fetch(server.url("/0"))


def test_redirects_followed_within_cap(serve) -> None:
    server = serve(
        lambda h: send(h, 200, b"final page") if h.path == "/b" else send(h, 301, Location="/b")
    )
    text = HTTPPlugin(allow_hosts=["127.0.0.1"]).fetch(server.url("/a"))
    assert "final page" in text
    assert f"Redirected from {server.url('/a')}" in text
    assert f"Fetched {server.url('/b')}" in text


# ---------------------------------------------------------------------------
# RELIABILITY 55: DNS rebinding -- the connection goes to the address that was checked
# ---------------------------------------------------------------------------


def test_dns_rebinding_connects_to_checked_address(
    serve, canary: LocalServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The resolver answers a public IP once, then 127.0.0.1 (the canary's address).

    TCP connects to the public IP are routed to a local "public" server, so the
    test runs offline; a second lookup would send the request to the canary.
    """
    public = serve(
        lambda h: send(h, 200, b"public page") if h.path == "/" else send(h, 302, Location="/again")
    )
    lookups: list[str] = []

    def rebinding(host: str) -> list[str]:
        lookups.append(host)
        return ["93.184.216.34"] if len(lookups) == 1 else ["127.0.0.1"]

    made: list[tuple[str, int]] = []
    real = urllib3.util.connection.create_connection

    def route(address: tuple[str, int], *args: object, **kwargs: object) -> socket.socket:
        made.append(address)
        if address[0] == "93.184.216.34":
            address = ("127.0.0.1", public.port)
        return real(address, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(urllib3.util.connection, "create_connection", route)
    plugin = HTTPPlugin(resolver=rebinding)
    assert "public page" in plugin.fetch(f"http://rebind.test:{canary.port}/")
    assert lookups == ["rebind.test"]
    assert made == [("93.184.216.34", canary.port)]
    assert public.requests[0][1]["host"] == f"rebind.test:{canary.port}"
    # a redirect back to the same name is a new hop: looked up and checked again
    with pytest.raises(URLRefusedError, match="127.0.0.1"):
        plugin.fetch(f"http://rebind.test:{canary.port}/redirect")
    assert canary.hits == 0


# ---------------------------------------------------------------------------
# RELIABILITY 56: schemes and credentials
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    ["file:///etc/passwd", "ftp://example.com/x", "gopher://example.com/", "data:text/plain,hi",
     "javascript:alert(1)", "example.com/no-scheme", "http:///path", "http://exa mple.com/",
     "http://example.com:99999/"],
)  # fmt: skip
def test_unsupported_urls_refused(url: str, connections: list) -> None:
    with pytest.raises(URLRefusedError):
        HTTPPlugin().fetch(url)
    assert connections == []


@pytest.mark.parametrize("userinfo", ["user:s3cretpw@", "user@", ":s3cretpw@"])
def test_credentials_refused_and_not_echoed(serve, userinfo: str) -> None:
    server = serve(lambda h: send(h, 200, b"ok"))
    plugin = HTTPPlugin(allow_hosts=["127.0.0.1"])
    with pytest.raises(URLRefusedError, match="credentials") as info:
        plugin.fetch(f"http://{userinfo}127.0.0.1:{server.port}/")
    assert "s3cretpw" not in str(info.value)
    assert server.hits == 0


# ---------------------------------------------------------------------------
# RELIABILITY 57: size cap and whole-fetch deadline
# ---------------------------------------------------------------------------


def test_body_capped_at_max_bytes(serve) -> None:
    server = serve(lambda h: send(h, 200, b"x" * 5_000_000))
    text = HTTPPlugin(allow_hosts=["127.0.0.1"], max_bytes=10_000).fetch(server.url())
    assert "x" * 10_000 + "\n" in text
    assert "x" * 10_001 not in text
    assert text.endswith("[truncated: size limit of 10000 bytes reached]")


def endless_chunks(h: http.server.BaseHTTPRequestHandler) -> None:
    h.send_response(200)
    h.send_header("Content-Type", "text/plain")
    h.send_header("Transfer-Encoding", "chunked")
    h.end_headers()
    while True:
        h.wfile.write(b"5\r\nchunk\r\n")
        h.wfile.flush()
        time.sleep(0.01)


def trickle(h: http.server.BaseHTTPRequestHandler) -> None:
    h.send_response(200)
    h.send_header("Content-Type", "text/plain")
    h.send_header("Content-Length", "1000000")
    h.end_headers()
    for _ in range(1000):
        h.wfile.write(b"y")
        h.wfile.flush()
        time.sleep(0.2)


@pytest.mark.parametrize("handle", [endless_chunks, trickle])
def test_deadline_on_endless_body(serve, handle: Handler) -> None:
    # Neither body ever ends by itself (the trickle would take 200 s), and both keep the
    # connection busy, so only the overall time limit can end the fetch.
    server = serve(handle)
    text = HTTPPlugin(allow_hosts=["127.0.0.1"], timeout=1.0).fetch(server.url())
    assert text.endswith("[truncated: time limit of 1 s reached]")
    if handle is trickle:  # far fewer than the 1,000 bytes it would have sent
        assert 0 < text.count("y") < 500


def test_endless_chunked_body_hits_byte_cap(serve) -> None:
    server = serve(endless_chunks)
    text = HTTPPlugin(allow_hosts=["127.0.0.1"], max_bytes=200, timeout=30).fetch(server.url())
    assert "size limit of 200 bytes" in text


def test_slow_headers_time_out(serve) -> None:
    answered = threading.Event()  # set when the test ends: the server answers "late" then
    server = serve(lambda h: (answered.wait(60), send(h, 200, b"late")))
    try:
        with pytest.raises(ToolError, match="timed out"):
            HTTPPlugin(allow_hosts=["127.0.0.1"], timeout=0.5).fetch(server.url())
    finally:
        answered.set()


# ---------------------------------------------------------------------------
# RELIABILITY 58: what is sent
# ---------------------------------------------------------------------------


def test_no_credentials_cookies_or_proxy_sent(
    serve, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login bob password hunter2\n")
    monkeypatch.setenv("NETRC", str(netrc))
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-SECRET-0123456789abcdef")

    def handle(h: http.server.BaseHTTPRequestHandler) -> None:
        if h.path == "/login":
            send(h, 302, Location="/home", Set_Cookie="session=abc123; Path=/")
        else:
            send(h, 200, b"home")

    server = serve(handle)
    assert "home" in HTTPPlugin(allow_hosts=["127.0.0.1"]).fetch(server.url("/login"))
    assert server.hits == 2
    for _, headers in server.requests:
        assert "authorization" not in headers
        assert "cookie" not in headers
        assert "proxy-authorization" not in headers
        assert "agentloop" in headers["user-agent"]
        assert headers["host"] == f"127.0.0.1:{server.port}"
        assert "sk-test-SECRET" not in str(headers)


# ---------------------------------------------------------------------------
# TLS: the pinned connection still sends SNI and verifies the certificate's name
# ---------------------------------------------------------------------------


def make_cert(tmp_path: Path, name: str) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl not available")
    cert, key = tmp_path / f"{name}.pem", tmp_path / f"{name}.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", f"/CN={name}", "-addext", f"subjectAltName=DNS:{name}",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


@pytest.fixture
def tls_server(serve, tmp_path: Path) -> Iterator[tuple[LocalServer, list[str | None]]]:
    cert, key = make_cert(tmp_path, "tls.test")
    server = serve(lambda h: send(h, 200, b"secure page"))
    sni: list[str | None] = []
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    context.sni_callback = lambda sock, name, ctx: sni.append(name)
    server.httpd.socket = context.wrap_socket(server.httpd.socket, server_side=True)
    server.cert = cert  # type: ignore[attr-defined]
    yield server, sni


def test_tls_untrusted_certificate_refused_with_sni(tls_server) -> None:
    server, sni = tls_server
    plugin = HTTPPlugin(allow_hosts=["tls.test"], resolver=lambda host: ["127.0.0.1"], timeout=3)
    with pytest.raises(ToolError, match="TLS"):
        plugin.fetch(f"https://tls.test:{server.port}/")
    assert sni == ["tls.test"]


def test_tls_verifies_original_name_over_pinned_ip(
    tls_server, monkeypatch: pytest.MonkeyPatch
) -> None:
    server, sni = tls_server
    monkeypatch.setattr("requests.adapters.DEFAULT_CA_BUNDLE_PATH", str(server.cert))
    names = {"tls.test": ["127.0.0.1"], "other.test": ["127.0.0.1"]}
    plugin = HTTPPlugin(
        allow_hosts=["tls.test", "other.test"], resolver=names.__getitem__, timeout=3
    )
    assert "secure page" in plugin.fetch(f"https://tls.test:{server.port}/")
    with pytest.raises(ToolError, match="TLS"):
        plugin.fetch(f"https://other.test:{server.port}/")  # certificate is for tls.test only
    assert sni == ["tls.test", "other.test"]
    assert server.requests[0][1]["host"] == f"tls.test:{server.port}"


# ---------------------------------------------------------------------------
# Content handling and labelling
# ---------------------------------------------------------------------------

PAGE = b"""<!doctype html><html><head><title>Docs &amp; more</title>
<style>body{color:red}</style><script>alert("x")</script></head>
<body><h1>Main heading</h1><p>First   paragraph
with <a href="/next">a link</a>.</p><ul><li>one</li><li>two</li></ul>
<noscript>enable js</noscript><pre>  keep
   this</pre><h2>Sub</h2><p>Last.</p></body></html>"""


def test_html_is_reduced_and_labelled_untrusted(serve) -> None:
    server = serve(lambda h: send(h, 200, PAGE, Content_Type="text/html; charset=utf-8"))
    text = HTTPPlugin(allow_hosts=["127.0.0.1"]).fetch(server.url("/doc"))
    assert "Title: Docs & more" in text
    assert "# Main heading\n\nFirst paragraph with a link (" + server.url("/next") + ")." in text
    assert "- one\n- two" in text
    assert "  keep\n   this" in text
    assert "## Sub" in text
    for dropped in ("alert", "color:red", "enable js", "<p>"):
        assert dropped not in text
    start = text.index("<<<UNTRUSTED CONTENT")
    assert f"from {server.url('/doc')}" in text[start:]
    nonce = text[start:].split()[2]
    assert text.rstrip().endswith(f"<<<END UNTRUSTED CONTENT {nonce}>>>")


def test_readme_shows_the_real_result_layout(serve) -> None:
    """The README's "What the model gets" sample has the lines a real fetch produces."""
    import re

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    sample = readme.split("## What the model gets", 1)[1].split("```", 2)[1].strip().splitlines()
    page = (
        b"<html><head><title>Example Domain</title></head><body><h1>Example Domain</h1>"
        b"<p>This domain is for use in illustrative examples.</p></body></html>"
    )
    server = serve(lambda h: send(h, 200, page, Content_Type="text/html; charset=UTF-8"))
    real = HTTPPlugin(allow_hosts=["127.0.0.1"]).fetch(server.url("/")).splitlines()

    def shape(line: str) -> str:  # the line with its URL, tag and free text abstracted
        line = re.sub(r"https?://[^\s):]+(:\d+)?/\S*?(?=[\s:)]|$)", "URL", line)
        line = re.sub(r"\b[0-9a-f]{8}\b", "TAG", line)
        return line if line.startswith(("Fetched", "<<<", "Title:")) else "TEXT" if line else ""

    assert [shape(line) for line in sample[:4]] == [shape(line) for line in real[:4]]
    assert shape(sample[-1]) == shape(real[-1]) == "<<<END UNTRUSTED CONTENT TAG>>>"


def test_html_to_text_title_and_breaks() -> None:
    title, text = html_to_text("<title>T</title><div>a</div><div>b<br>c</div>")
    assert title == "T"
    assert text == "a\nb\nc"


@pytest.mark.parametrize(
    "hostile",
    [
        "<a" * 100_000,
        '<a b="' * 50_000,
        "<!--" * 50_000,
        "</" * 100_000,
        "<!A" * 70_000,
        "<div " + "a=b " * 50_000,
    ],
)
def test_html_parsing_stays_linear_on_hostile_markup(
    hostile: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # html.parser rescans to the end of the input for every "<" that does not start a
    # complete tag: quadratic, about a minute for "<a" * 100_000 alone. The defence is
    # that no such "<" ever reaches it; check that, and that the text itself is kept.
    fed: list[str] = []
    real_feed = HTMLParser.feed

    def feed(self: HTMLParser, data: str) -> None:
        fed.append(data)
        real_feed(self, data)

    monkeypatch.setattr(HTMLParser, "feed", feed)
    title, text = html_to_text(hostile)
    assert fed and all("<" not in data for data in fed)
    assert (title, text) == ("", hostile.strip())


def test_defused_markup_keeps_text() -> None:
    title, text = html_to_text("<p>a < b && c > d</p><!-- <hidden> --><p title='x>y'>1<2</p>")
    assert text == "a < b && c > d\n\n1<2"


def test_charset_from_header(serve) -> None:
    server = serve(
        lambda h: send(
            h, 200, "café".encode("latin-1"), Content_Type="text/plain; charset=iso-8859-1"
        )
    )
    assert "café" in HTTPPlugin(allow_hosts=["127.0.0.1"]).fetch(server.url())


@pytest.mark.parametrize(("status", "content_type", "match"), [
    (404, "text/html", "HTTP 404"), (500, "text/plain", "HTTP 500"), (200, "image/png", "only returns text"),
])  # fmt: skip
def test_errors_and_binary_refused(serve, status: int, content_type: str, match: str) -> None:
    server = serve(lambda h: send(h, status, b"\x89PNG\x00", Content_Type=content_type))
    with pytest.raises(ToolError, match=match):
        HTTPPlugin(allow_hosts=["127.0.0.1"]).fetch(server.url())


def test_connection_refused_is_tool_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(ToolError, match="could not connect"):
        HTTPPlugin(allow_hosts=["127.0.0.1"]).fetch(f"http://127.0.0.1:{port}/")


@pytest.mark.parametrize("kwargs", [
    {"max_bytes": 0}, {"timeout": 0}, {"max_redirects": -1}, {"allow_hosts": "127.0.0.1"},
    {"allow_hosts": ["http://x/"]}, {"allow_hosts": ["host:notaport"]},
])  # fmt: skip
def test_bad_configuration(kwargs: dict) -> None:
    with pytest.raises(ConfigurationError):
        HTTPPlugin(**kwargs)


# ---------------------------------------------------------------------------
# The tool and the plugin
# ---------------------------------------------------------------------------


def test_tool_definition() -> None:
    plugin = HTTPPlugin()
    (offered,) = plugin.agentloop_tools()
    assert offered.name == "fetch_url"
    assert offered.parameters["required"] == ["url"]
    assert "http" in offered.parameters["properties"]["url"]["description"]
    assert "untrusted" in offered.description.lower()


def test_entry_point_module_offers_no_tools() -> None:
    import agentloop_http

    # it pushes no tools into agents: it only offers the 'http' toolset by name
    hooks = [name for name in vars(agentloop_http) if name.startswith("agentloop_")]
    assert hooks == ["agentloop_register_tools"]
    (offered,) = agentloop_http.agentloop_register_tools()
    assert offered.name == "http"
    from importlib.metadata import entry_points

    (point,) = [ep for ep in entry_points(group="agentloop") if ep.name == "http"]
    assert point.value == "agentloop_http"


# ---------------------------------------------------------------------------
# Through an agent run
# ---------------------------------------------------------------------------


def test_agent_run_fetches_allowed_and_refuses_blocked(serve, canary: LocalServer) -> None:
    from agentloop import Agent
    from agentloop.testing import ScriptedModel, text_response, tool_call, tool_calls_response

    page = serve(lambda h: send(h, 200, PAGE, Content_Type="text/html"))
    model = ScriptedModel(
        [
            tool_calls_response(
                tool_call("fetch_url", {"url": page.url("/doc")}),
                tool_call("fetch_url", {"url": canary.url("/")}),
            ),
            text_response("summary"),
        ]
    )
    plugin = HTTPPlugin(allow_hosts=[f"127.0.0.1:{page.port}"])
    result = Agent(model=model, plugins=[plugin], load_plugins=False).run("read the docs")
    assert result.output == "summary"
    fetched, refused = [m["content"] for m in model.requests[1]["messages"] if m["role"] == "tool"]
    assert "<<<UNTRUSTED CONTENT" in fetched and "# Main heading" in fetched
    assert "refused" in refused and "loopback" in refused
    assert canary.hits == 0
    assert [step.status for step in result.steps if step.kind == "tool"] == ["ok", "error"]


def test_agent_run_refuses_redirect_and_rebinding_to_internal(
    serve, canary: LocalServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Through the loop: an allowed host redirecting to the canary, and a rebinding name."""
    from agentloop import Agent
    from agentloop.testing import ScriptedModel, tool_call, tool_calls_response

    bouncer = serve(lambda h: send(h, 302, Location=canary.url("/stolen")))
    public = serve(lambda h: send(h, 200, b"public page"))
    answers = iter([["93.184.216.34"], ["127.0.0.1"], ["127.0.0.1"]])
    real = urllib3.util.connection.create_connection

    def route(address: tuple[str, int], *args: object, **kwargs: object) -> socket.socket:
        if address[0] == "93.184.216.34":  # "the internet" is a local server
            address = ("127.0.0.1", public.port)
        return real(address, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(urllib3.util.connection, "create_connection", route)
    plugin = HTTPPlugin(
        allow_hosts=[f"127.0.0.1:{bouncer.port}"], resolver=lambda host: next(answers)
    )
    model = ScriptedModel(
        [
            tool_calls_response(tool_call("fetch_url", {"url": bouncer.url("/go")})),
            tool_calls_response(
                tool_call("fetch_url", {"url": f"http://rebind.test:{canary.port}/"})
            ),
            tool_calls_response(
                tool_call("fetch_url", {"url": f"http://rebind.test:{canary.port}/again"})
            ),
            "done",
        ]
    )
    result = Agent(model=model, plugins=[plugin], load_plugins=False).run("fetch")
    redirected, rebound, second = [m["content"] for m in result.messages if m["role"] == "tool"]
    assert redirected.startswith("error: refused") and "loopback" in redirected
    assert "public page" in rebound  # the checked address was used, not a second lookup
    assert second.startswith("error: refused") and "127.0.0.1" in second
    assert bouncer.hits == 1 and public.hits == 1
    assert canary.hits == 0


def test_agent_without_plugin_has_no_fetch_tool() -> None:
    import agentloop_http

    from agentloop import Agent
    from agentloop.testing import ScriptedModel, text_response

    model = ScriptedModel([text_response("hi")])
    Agent(model=model, plugins=[agentloop_http], load_plugins=False).run("hello")
    assert not model.requests[0].get("tools")
