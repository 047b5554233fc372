"""The LLM annotation engine: templates, registered backends, strict parsing, a resumable ledger and a runner.

Names are exported lazily (PEP 562): ``import annalign.engine`` loads none of the engine's modules,
and no backend SDK (openai, anthropic, llama_cpp, httpx) is imported until a backend is created.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

#: Exported name -> the module that defines it.
_EXPORTS = {
    "DEFAULT_MODEL": "annalign.engine.spec",
    "parse_model_spec": "annalign.engine.spec",
    "AnnotateOptions": "annalign.engine.options",
    "annotate": "annalign.engine.api",
    "default_ledger_path": "annalign.engine.api",
    "annotate_ratings": "annalign.engine.ratings",
    "AnnotatedRatings": "annalign.engine.ratings",
    "Backend": "annalign.engine.backends.base",
    "BackendError": "annalign.engine.backends.base",
    "ChatRequest": "annalign.engine.backends.base",
    "Completion": "annalign.engine.backends.base",
    "ModelSpec": "annalign.engine.backends.base",
    "register_backend": "annalign.engine.backends.registry",
    "get_backend": "annalign.engine.backends.registry",
    "backend_names": "annalign.engine.backends.registry",
    "write_machine_file": "annalign.engine.frames",
    "builtin_names": "annalign.engine.prompts",
    "load_template": "annalign.engine.prompts",
}

__all__ = [
    "AnnotateOptions",
    "AnnotatedRatings",
    "Backend",
    "BackendError",
    "ChatRequest",
    "Completion",
    "DEFAULT_MODEL",
    "ModelSpec",
    "annotate",
    "annotate_ratings",
    "backend_names",
    "builtin_names",
    "default_ledger_path",
    "get_backend",
    "load_template",
    "parse_model_spec",
    "register_backend",
    "write_machine_file",
]

if TYPE_CHECKING:
    from annalign.engine.api import annotate, default_ledger_path
    from annalign.engine.backends.base import (
        Backend,
        BackendError,
        ChatRequest,
        Completion,
        ModelSpec,
    )
    from annalign.engine.backends.registry import backend_names, get_backend, register_backend
    from annalign.engine.frames import write_machine_file
    from annalign.engine.options import AnnotateOptions
    from annalign.engine.prompts import builtin_names, load_template
    from annalign.engine.ratings import AnnotatedRatings, annotate_ratings
    from annalign.engine.spec import DEFAULT_MODEL, parse_model_spec


def __getattr__(name: str) -> Any:
    """Import an exported name's module on first use."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'annalign.engine' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})
