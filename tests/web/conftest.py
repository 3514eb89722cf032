"""Fixtures for the web tests: the app over a Control, and a test client."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from meterkast.web.app import create_app
from tests.web.fake_control import FakeControl


@pytest.fixture
def fake() -> FakeControl:
    return FakeControl()


@pytest.fixture
def client(fake: FakeControl) -> Iterator[TestClient]:
    with TestClient(create_app(fake)) as test_client:
        yield test_client
