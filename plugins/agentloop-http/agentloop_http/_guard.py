"""Which URLs and network addresses ``fetch_url`` may connect to.

Every hop of a fetch goes through :func:`check_url`: the URL must be http(s)
without credentials, and its host must resolve only to public (globally
routable) addresses, unless the host is listed in ``allow_hosts``. The
addresses checked here are the ones the transport connects to (it never
resolves the name again), so DNS rebinding cannot swap in another address.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from agentloop import ConfigurationError, ToolError

__all__ = ["AllowList", "Resolver", "Target", "URLRefusedError", "check_url", "non_public_reason"]

Resolver = Callable[[str], Sequence[str]]
"""A callable mapping a host name to the IP address strings it resolves to."""

DEFAULT_PORTS = {"http": 80, "https": 443}

_IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_CHECKS = (
    ("is_unspecified", "unspecified address"),
    ("is_loopback", "loopback address"),
    ("is_link_local", "link-local address"),
    ("is_multicast", "multicast address"),
    ("is_private", "private address"),
    ("is_reserved", "reserved address"),
)


class URLRefusedError(ToolError):
    """``fetch_url`` refused a URL before connecting to it.

    Attributes:
        url: The refused URL, with any credentials removed.
        reason: Why it was refused, e.g. ``"loopback address"``.
    """

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"refused to fetch {url}: {reason}")
        self.url = url
        self.reason = reason


@dataclass(frozen=True, kw_only=True, slots=True)
class Target:
    """One checked hop: the URL to request and the addresses allowed for it."""

    url: str  #: scheme://host[:port]/path?query, no credentials, no fragment
    scheme: str  #: "http" or "https"
    host: str  #: lower-case host name or IP literal, without brackets
    port: int  #: the TCP port
    host_header: str  #: the value of the Host header (and the name TLS verifies)
    addresses: tuple[str, ...]  #: checked IP addresses, in the order to try


class AllowList:
    """Hosts exempt from the public-address rule: ``"host"`` or ``"host:port"`` entries."""

    def __init__(self, entries: Iterable[str]) -> None:
        self._entries: set[tuple[str, int | None]] = set()
        for entry in entries:
            try:
                parts = urlsplit(f"//{entry.strip()}")
                host, port = parts.hostname, parts.port
            except (ValueError, AttributeError) as exc:
                raise ConfigurationError(f"allow_hosts: invalid entry {entry!r}") from exc
            if not host or parts.path or parts.username is not None:
                raise ConfigurationError(
                    f"allow_hosts: invalid entry {entry!r}; use 'host' or 'host:port'"
                )
            self._entries.add((_normalize_host(host), port))

    def allows(self, host: str, port: int) -> bool:
        """Return whether ``host`` on ``port`` is exempt from the address checks."""
        host = _normalize_host(host)
        return (host, None) in self._entries or (host, port) in self._entries


def resolve_host(host: str) -> list[str]:
    """Resolve ``host`` with the system resolver, returning unique IP strings in order.

    Args:
        host: A host name or IP literal.

    Returns:
        The addresses ``getaddrinfo`` gives, duplicates removed.
    """
    infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def non_public_reason(address: str) -> str | None:
    """Return why an IP address is not a public one, or None when it is.

    Blocks loopback, private, link-local, CGNAT (100.64/10), multicast,
    reserved and unspecified addresses, anything else ``ipaddress`` does not
    call global, IPv4-mapped IPv6 addresses, and IPv6 addresses that embed a
    non-public IPv4 address (6to4, Teredo, NAT64).

    Args:
        address: An IP address string (an IPv6 zone suffix ``%eth0`` is ignored).

    Returns:
        A short reason such as ``"loopback address"``, or None for a public address.
    """
    try:
        ip: _IPAddress = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return f"not an IP address: {address!r}"
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return "IPv4-mapped IPv6 address"
        embedded = _embedded_ipv4(ip)
        if embedded is not None and (reason := non_public_reason(str(embedded))):
            return f"IPv6 address embedding {embedded} ({reason})"
    for attribute, reason in _CHECKS:
        if getattr(ip, attribute):
            return reason
    if ip in _CGNAT:
        return "shared address space (100.64.0.0/10)"
    if not ip.is_global:
        return "address not globally routable"
    return None


def check_url(url: str, *, resolver: Resolver, allow: AllowList) -> Target:
    """Check one URL and resolve its host once; refuse anything not allowed.

    Args:
        url: The URL of this hop.
        resolver: Maps a host name to its IP addresses (called once per hop).
        allow: Hosts exempt from the address checks.

    Returns:
        The checked target, with the addresses the transport must connect to.

    Raises:
        URLRefusedError: The scheme, credentials, host or an address is not allowed.
        ToolError: The host could not be resolved.
    """
    target = _parse(url)
    allowed = allow.allows(target.host, target.port)
    literal = _ip_literal(target.host)
    if literal is None and not allowed and _is_odd_ipv4(target.host):
        raise URLRefusedError(target.url, "IP address in a non-standard notation")
    addresses = [literal] if literal is not None else _resolve(target, resolver)
    if not allowed:
        for address in addresses:
            if reason := non_public_reason(address):
                where = address if literal else f"{target.host} resolves to {address}"
                raise URLRefusedError(target.url, f"{where}: {reason}")
    return Target(
        url=target.url,
        scheme=target.scheme,
        host=target.host,
        port=target.port,
        host_header=target.host_header,
        addresses=tuple(addresses),
    )


def _parse(url: str) -> Target:
    shown = _without_credentials(url)
    if any(ord(char) <= 0x20 or ord(char) == 0x7F for char in url):
        raise URLRefusedError(shown, "whitespace or control characters in the URL")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise URLRefusedError(shown, f"malformed URL ({exc})") from exc
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise URLRefusedError(
            shown, f"scheme {scheme or '(none)'!r} not allowed; use http or https"
        )
    if "@" in parts.netloc:
        raise URLRefusedError(shown, "URLs with credentials (user:password@) are not allowed")
    if not parts.hostname:
        raise URLRefusedError(shown, "no host in the URL")
    try:
        host = _normalize_host(parts.hostname)
    except UnicodeError as exc:
        raise URLRefusedError(shown, "host name is not valid IDNA") from exc
    netloc = f"[{host}]" if ":" in host else host
    if port is not None and port != DEFAULT_PORTS[scheme]:
        netloc = f"{netloc}:{port}"
    request_url = f"{scheme}://{netloc}{parts.path or '/'}"
    if parts.query:
        request_url = f"{request_url}?{parts.query}"
    return Target(
        url=request_url,
        scheme=scheme,
        host=host,
        port=port or DEFAULT_PORTS[scheme],
        host_header=netloc,
        addresses=(),
    )


def _resolve(target: Target, resolver: Resolver) -> list[str]:
    try:
        addresses = [str(address) for address in resolver(target.host)]
    except (OSError, UnicodeError) as exc:
        raise ToolError(f"could not resolve host {target.host!r}: {exc}") from exc
    if not addresses:
        raise ToolError(f"could not resolve host {target.host!r}: no addresses")
    for address in addresses:
        if _ip_literal(address.split("%", 1)[0]) is None:
            raise ToolError(f"resolver returned {address!r} for {target.host!r}, not an IP address")
    return list(dict.fromkeys(addresses))


def _normalize_host(host: str) -> str:
    host = host.strip("[]").rstrip(".").lower()
    if host.isascii():
        return host
    return host.encode("idna").decode("ascii")


def _ip_literal(host: str) -> str | None:
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        return None


def _is_odd_ipv4(host: str) -> bool:
    """Return True for host strings the C resolver reads as IPv4 (2130706433, 0x7f.1, 127.1)."""
    try:
        socket.inet_aton(host)
    except (OSError, ValueError):
        return False
    return True


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def _without_credentials(url: str) -> str:
    try:
        parts = urlsplit(url)
    except ValueError:
        return "(malformed URL)"
    if "@" not in parts.netloc:
        return url
    return parts._replace(netloc="***@" + parts.netloc.rsplit("@", 1)[1]).geturl()
