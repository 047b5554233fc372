"""annalign: measure how far an LLM's annotations agree with a diverse pool of human annotators."""

from __future__ import annotations

from typing import Any

from annalign.errors import InputError

__version__ = "0.1.0"

#: public name -> module that defines it; imported on first use so that `import annalign` stays cheap
_LAZY = {"Annotations": "annalign.core.annotations", "RatingMap": "annalign.core.ratingmap"}

__all__ = ["Annotations", "InputError", "RatingMap", "__version__"]


def __getattr__(name: str) -> Any:
    """Import a public name's module when the name is first used (PEP 562)."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'annalign' has no attribute {name!r}")
