"""Who may open the instructor's view: the password from the secrets file, never a default one.

``.streamlit/secrets.toml``::

    [instructor]
    password = "a long passphrase"
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping

__all__ = ["HOW_TO_SET", "configured_password", "password_matches"]

HOW_TO_SET = (
    "Set one in the app's secrets file, `.streamlit/secrets.toml`:\n\n```toml\n[instructor]\npassword = \"a long "
    'passphrase"\n```\n\nthen reload this page. There is no default password.'
)


def configured_password(secrets: Mapping | None) -> str | None:
    """The instructor password from ``secrets`` (``[instructor] password``), or None when none is set."""
    try:
        section = secrets.get("instructor") if secrets is not None else None
    except Exception:  # Streamlit raises when no secrets file exists at all
        return None
    if not isinstance(section, Mapping):
        return None
    password = section.get("password")
    return password if isinstance(password, str) and password.strip() else None


def password_matches(expected: str | None, given: object) -> bool:
    """True only when a password is configured and ``given`` equals it (constant-time comparison)."""
    if not expected or not isinstance(given, str) or not given:
        return False
    return hmac.compare_digest(expected.encode(), given.encode())
