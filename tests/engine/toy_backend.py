"""Toy backends registered from outside the package, the way a user's or a plugin's file does it.

``toy:`` is serial, accepts a "regex" constraint of its own (its default) and states a price;
``toypar:`` is the same answers, sent concurrently. Both record what they were asked.
"""

from __future__ import annotations

import asyncio

from annalign.engine.backends import Backend, ChatRequest, Completion, ModelSpec, register_backend


def toy_answer(request: ChatRequest) -> str:
    """The toy's answer: the allowed answer at (length of the last message) modulo their number."""
    return request.answers[len(request.messages[-1]["content"]) % len(request.answers)]


@register_backend("toy", constraints=("regex",), default_constraint="regex", serial=True)
class ToyBackend(Backend):
    """Answers computed from the prompt length; 10 prompt tokens a request at USD 1000 per million."""

    in_flight = 0
    max_in_flight = 0
    constraints_seen: list[str] = []

    @classmethod
    def price(cls, spec: ModelSpec) -> tuple[float, float]:
        return (1000.0, 0.0)

    async def complete(self, request: ChatRequest, *, timeout: float) -> Completion:
        cls = type(self)
        cls.in_flight += 1
        cls.max_in_flight = max(cls.max_in_flight, cls.in_flight)
        cls.constraints_seen.append(request.constrain)
        try:
            await asyncio.sleep(0.005)
        finally:
            cls.in_flight -= 1
        return Completion(toy_answer(request), finish_reason="stop", prompt_tokens=10, completion_tokens=1)


@register_backend("toypar", constraints=("regex",))
class ToyParallelBackend(ToyBackend):
    """The toy, not serial: the runner may send several requests at once."""

    in_flight = 0
    max_in_flight = 0
    constraints_seen: list[str] = []
