"""Which servers the app may contact in workshop and hosted mode."""

import pytest

from core.serving.server_policy import (
    ServerPolicy,
    URLRefused,
    check_url,
    normalize_base_url,
    policy_from_settings,
)

PUBLIC = {"gpu.example.org": ["93.184.216.34"], "sneaky.example.org": ["10.0.0.5"], "mixed.example.org": []}


def fake_resolver(host):
    if host not in PUBLIC:
        raise URLRefused(f"Could not resolve host {host!r}")
    return PUBLIC[host]


def hosted(allow_custom=False, urls=("http://10.0.0.7:30000",)):
    return policy_from_settings(
        {"sglang": {"allowed_base_urls": list(urls), "allow_custom_url": allow_custom}}, {}
    )


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("localhost:30000", "http://localhost:30000"),
        ("http://LOCALHOST:30000/", "http://localhost:30000"),
        ("https://gpu.example.org/sglang/", "https://gpu.example.org/sglang"),
        ("http://[::1]:30000", "http://[::1]:30000"),
    ],
)
def test_normalize(raw, expected):
    assert normalize_base_url(raw) == expected


@pytest.mark.parametrize(
    "bad",
    ["", "ftp://x", "http://", "http://user:pw@host", "http://host?x=1", "http://host:99999", "file:///etc"],
)
def test_malformed_urls_are_refused_with_a_message(bad):
    with pytest.raises(URLRefused) as error:
        normalize_base_url(bad)
    assert str(error.value)


def test_workshop_mode_is_free_but_refuses_metadata():
    policy = policy_from_settings(None, {})
    assert not policy.hosted and policy.free_url_field
    assert check_url("http://localhost:30000", policy) == "http://localhost:30000"
    assert check_url("http://192.168.1.20:30000", policy) == "http://192.168.1.20:30000"
    with pytest.raises(URLRefused, match="link-local"):
        check_url("http://169.254.169.254/latest/meta-data", policy)


def test_hosted_mode_allows_only_the_list():
    policy = hosted()
    assert policy.hosted and not policy.free_url_field
    assert check_url("http://10.0.0.7:30000/", policy) == "http://10.0.0.7:30000"
    for url in (
        "http://localhost:30000",
        "http://127.0.0.1:30000",
        "http://169.254.169.254",
        "http://gpu.example.org",
    ):
        with pytest.raises(URLRefused, match="only connects"):
            check_url(url, policy, resolver=fake_resolver)


def test_hosted_custom_urls_must_resolve_to_public_addresses():
    policy = hosted(allow_custom=True)
    assert (
        check_url("http://gpu.example.org:30000", policy, resolver=fake_resolver)
        == "http://gpu.example.org:30000"
    )
    cases = {
        "http://127.0.0.1:30000": "loopback",
        "http://169.254.169.254": "link-local",
        "http://192.168.0.4": "private",
        "http://sneaky.example.org": "private",
        "http://[::1]:30000": "loopback",
        "http://0.0.0.0:30000": "reserved",
    }
    for url, reason in cases.items():
        with pytest.raises(URLRefused, match=reason):
            check_url(url, policy, resolver=fake_resolver)
    with pytest.raises(URLRefused, match="resolve"):
        check_url("http://nowhere.invalid", policy, resolver=fake_resolver)


def test_environment_turns_hosted_mode_on():
    policy = policy_from_settings(None, {"SPECLAB_ALLOWED_BASE_URLS": "http://a:1, http://b:2"})
    assert policy.hosted
    assert policy.allowed_base_urls == ("http://a:1", "http://b:2")
    assert policy.max_requests_per_run < ServerPolicy().max_requests_per_run


def test_limits_can_be_overridden_and_bad_config_is_reported():
    policy = policy_from_settings({"sglang": {"allowed_base_urls": [], "max_concurrency": 4}}, {})
    assert policy.max_concurrency == 4
    with pytest.raises(ValueError):
        policy_from_settings({"sglang": {"allow_custom_url": "maybe"}}, {})
    with pytest.raises(URLRefused):
        policy_from_settings({"sglang": {"allowed_base_urls": ["ftp://x"]}}, {})
