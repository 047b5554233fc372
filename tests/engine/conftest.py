"""Shared fixtures of the engine tests: the DICES-350 data and fake OpenAI-compatible servers."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from annalign.core.annotations import Annotations
from annalign.datasets.bundled import load_dataset
from annalign.testing.fakeserver import FakeOpenAIServer


@pytest.fixture(scope="session")
def dices() -> Annotations:
    """The bundled DICES-350 set (items with context and response text)."""
    return load_dataset("dices350")


@pytest.fixture
def fake_server() -> Iterator[type[FakeOpenAIServer]]:
    """A factory of fake servers that are all stopped at the end of the test."""
    started: list[FakeOpenAIServer] = []

    class Factory(FakeOpenAIServer):
        def start(self) -> FakeOpenAIServer:
            started.append(self)
            return super().start()

    yield Factory
    for server in started:
        server.stop()
