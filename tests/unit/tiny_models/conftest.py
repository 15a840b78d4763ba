"""The shipped tiny models, loaded once for the package's tests."""

import pytest

from core.tiny_models import load_models


@pytest.fixture(scope="session")
def models():
    return load_models()
