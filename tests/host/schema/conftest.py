from __future__ import annotations

import pytest

from tests.host.config.pki import make_cert


@pytest.fixture
def pem_pair() -> tuple[str, str]:
    return make_cert()
