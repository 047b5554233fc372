"""Model backends behind one interface, registered in one place (``registry``): one file per backend.

Built-ins: ``openai`` (OpenAI-compatible servers), ``anthropic``, ``local`` (in-process llama.cpp)
and ``fake`` (an in-process deterministic test double). Importing this package imports no SDK.
"""

from annalign.engine.backends.base import Backend, BackendError, ChatRequest, Completion, ModelSpec
from annalign.engine.backends.registry import (
    BUILTIN_BACKENDS,
    ENTRY_POINT_GROUP,
    backend_names,
    get_backend,
    make_backend,
    register_backend,
    registered_backends,
)

__all__ = [
    "BUILTIN_BACKENDS",
    "ENTRY_POINT_GROUP",
    "Backend",
    "BackendError",
    "ChatRequest",
    "Completion",
    "ModelSpec",
    "backend_names",
    "get_backend",
    "make_backend",
    "register_backend",
    "registered_backends",
]
