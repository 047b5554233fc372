"""Model backends behind one interface: OpenAI-compatible, Anthropic and in-process llama.cpp."""

from annalign.engine.backends.base import (
    DEFAULT_MODEL,
    Backend,
    BackendError,
    ChatRequest,
    Completion,
    ModelSpec,
    make_backend,
    parse_model_spec,
)

__all__ = [
    "DEFAULT_MODEL",
    "Backend",
    "BackendError",
    "ChatRequest",
    "Completion",
    "ModelSpec",
    "make_backend",
    "parse_model_spec",
]
