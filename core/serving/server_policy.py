"""Which SGLang servers the app may contact, and how hard: workshop mode vs hosted classroom mode.

A URL typed into the live benchmark page becomes a request made *by the app's server*. On a hosted
classroom instance that would let any student probe the host's network (loopback services, cloud
metadata at 169.254.169.254, private subnets), so the operator configures a policy:

* **Workshop mode** (default, no configuration): the URL field is free, because the app runs on the
  instructor's or learner's own machine. Link-local addresses (cloud metadata) are still refused.
* **Hosted mode**: ``.streamlit/secrets.toml`` has an ``[sglang]`` section (or the environment sets
  ``SPECLAB_ALLOWED_BASE_URLS``). Only the allow-listed servers are offered. With
  ``allow_custom_url = true`` other URLs are accepted only when every address their host resolves to is a
  public one; loopback, private, link-local, multicast and reserved addresses are refused.

Every request the client makes also has fixed API paths, no redirects, and capped size and time; the
limits for a run live here too so the page and the CLI apply the same ones.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

__all__ = ["ServerPolicy", "URLRefused", "policy_from_settings", "normalize_base_url", "check_url"]

ENV_ALLOWED = "SPECLAB_ALLOWED_BASE_URLS"
ENV_ALLOW_CUSTOM = "SPECLAB_ALLOW_CUSTOM_URL"

Resolver = Callable[[str], list[str]]


class URLRefused(ValueError):
    """A server URL the current policy does not allow; the message says why, for the user."""


@dataclass(frozen=True)
class ServerPolicy:
    """Limits on which servers the app contacts and how much work one benchmark run may ask for.

    ``max_response_bytes`` caps one response body, ``request_timeout_s`` one request (seconds),
    ``max_requests_per_run`` / ``max_concurrency`` / ``max_tokens`` cap one run, and
    ``runs_per_window`` runs per ``window_s`` seconds is the per-session rate limit.
    """

    hosted: bool = False
    allowed_base_urls: tuple[str, ...] = ()
    allow_custom_url: bool = True
    max_response_bytes: int = 8 * 1024 * 1024
    request_timeout_s: float = 120.0
    max_requests_per_run: int = 500
    max_concurrency: int = 64
    max_tokens: int = 4096
    runs_per_window: int = 1000
    window_s: float = 600.0
    notes: tuple[str, ...] = field(default=())

    @property
    def free_url_field(self) -> bool:
        """True when the user may type any URL (workshop mode)."""
        return not self.hosted


# Tighter run limits for a shared classroom server, so one student cannot monopolise the GPU box.
HOSTED_LIMITS = {
    "max_requests_per_run": 64,
    "max_concurrency": 16,
    "max_tokens": 512,
    "runs_per_window": 6,
    "window_s": 600.0,
    "request_timeout_s": 60.0,
}


def _as_bool(value, name: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in {"1", "true", "yes", "on"}:
        return True
    if text in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError(f"{name} must be true or false, got {value!r}")


def policy_from_settings(
    secrets: Mapping | None = None, environ: Mapping[str, str] | None = None
) -> ServerPolicy:
    """Build the policy from Streamlit secrets (``[sglang]`` section) and/or environment variables.

    Secrets keys: ``allowed_base_urls`` (list of URLs), ``allow_custom_url`` (bool, default false when the
    section exists), and optional overrides of the run limits (e.g. ``max_requests_per_run``).
    Environment: ``SPECLAB_ALLOWED_BASE_URLS`` (comma-separated) turns hosted mode on the same way;
    ``SPECLAB_ALLOW_CUSTOM_URL`` (true/false). Raises ``ValueError`` for a malformed configuration, so an
    operator sees the mistake at start instead of silently running open.
    """
    environ = os.environ if environ is None else environ
    section = None
    if secrets is not None:
        try:
            section = secrets.get("sglang")
        except Exception:  # Streamlit raises when no secrets file exists at all
            section = None
    env_urls = environ.get(ENV_ALLOWED)
    if section is None and env_urls is None:
        return ServerPolicy()

    section = dict(section or {})
    urls = section.get("allowed_base_urls", [])
    if isinstance(urls, str):
        urls = [urls]
    if env_urls:
        urls = [*urls, *(u for u in env_urls.split(",") if u.strip())]
    normalized = tuple(dict.fromkeys(normalize_base_url(u) for u in urls))
    allow_custom = _as_bool(
        section.get("allow_custom_url", environ.get(ENV_ALLOW_CUSTOM, False)), "allow_custom_url"
    )
    limits = dict(HOSTED_LIMITS)
    for key in limits:
        if key in section:
            limits[key] = type(limits[key])(section[key])
    if "max_response_bytes" in section:
        limits["max_response_bytes"] = int(section["max_response_bytes"])
    return ServerPolicy(hosted=True, allowed_base_urls=normalized, allow_custom_url=allow_custom, **limits)


def normalize_base_url(url: str) -> str:
    """``scheme://host[:port][/prefix]`` without a trailing slash; raises :class:`URLRefused` if malformed.

    Only http and https, no user:password@, no query string or fragment.
    """
    text = (url or "").strip()
    if not text:
        raise URLRefused("Enter a server URL such as http://localhost:30000")
    if "://" not in text:
        text = "http://" + text
    parts = urlsplit(text)
    if parts.scheme not in {"http", "https"}:
        raise URLRefused(f"Only http:// and https:// server URLs are supported, not {parts.scheme}://")
    if not parts.hostname:
        raise URLRefused(f"{url!r} has no host name")
    if parts.username or parts.password:
        raise URLRefused("Server URLs with a user name or password are not accepted; use the API key field")
    if parts.query or parts.fragment:
        raise URLRefused("Give the server's base URL only, without ?query or #fragment")
    try:
        port = parts.port
    except ValueError as error:
        raise URLRefused(f"{url!r} has an invalid port") from error
    host = parts.hostname
    netloc = f"[{host}]" if ":" in host else host
    if port is not None:
        netloc += f":{port}"
    return f"{parts.scheme}://{netloc}{parts.path.rstrip('/')}"


def _default_resolver(host: str) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as error:
        raise URLRefused(f"Could not resolve host {host!r}: {error}") from error
    return sorted({info[4][0] for info in infos})


def _address_problem(address: str) -> str | None:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if ip.is_link_local:
        return "a link-local address (cloud metadata services live there)"
    if ip.is_loopback:
        return "a loopback address (this server itself)"
    if ip.is_multicast or ip.is_reserved or ip.is_unspecified:
        return "a reserved address"
    if ip.is_private or not ip.is_global:
        return "a private network address"
    return None


def check_url(url: str, policy: ServerPolicy, resolver: Resolver | None = None) -> str:
    """Return the normalized base URL if ``policy`` allows contacting it, else raise :class:`URLRefused`.

    Allow-listed URLs always pass. In workshop mode anything else passes except link-local hosts (cloud
    metadata). In hosted mode other URLs pass only with ``allow_custom_url`` and only when every resolved
    address is public.
    """
    base = normalize_base_url(url)
    if base in policy.allowed_base_urls:
        return base
    host = urlsplit(base).hostname or ""
    resolve = resolver or _default_resolver
    if not policy.hosted:
        try:
            addresses = [host] if _is_ip(host) else resolve(host)
        except URLRefused:
            return base  # the client reports DNS failures with its own clear message
        for address in addresses:
            if ipaddress.ip_address(address.split("%", 1)[0]).is_link_local:
                raise URLRefused(f"{base} points to a link-local address ({address}); refused")
        return base
    if not policy.allow_custom_url:
        allowed = ", ".join(policy.allowed_base_urls) or "(none configured)"
        raise URLRefused(f"This classroom server only connects to the instructor's servers: {allowed}")
    addresses = [host] if _is_ip(host) else resolve(host)
    if not addresses:
        raise URLRefused(f"Could not resolve host {host!r}")
    for address in addresses:
        problem = _address_problem(address)
        if problem:
            raise URLRefused(f"{base} resolves to {address}, {problem}; refused on this hosted server")
    return base


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        return False
