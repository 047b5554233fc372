"""The one place backends are known: ``@register_backend`` on each class, built-ins and plugins found lazily.

A backend is a ``Backend`` subclass in a file of its own, decorated with
``@register_backend("NAME", accepts_base_url=..., constraints=(...), supports_logprobs=..., serial=...)``;
the decorator is the only place its capabilities are declared. The built-ins are the modules named
in ``BUILTIN_BACKENDS`` (imported on first use, like llm's ``DEFAULT_PLUGINS``; importing one loads
no SDK, its constructor does). Other packages register theirs through the entry-point group
``annalign.backends`` (``NAME = "package.module"``), loaded only when ``NAME:`` is asked for.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Iterable
from typing import TypeVar

from annalign.engine.backends.base import Backend, ModelSpec
from annalign.errors import InputError
from annalign.redaction import redact_log_records

#: Modules that register the built-in backends when imported, in the order they are listed.
BUILTIN_BACKENDS = (
    "annalign.engine.backends.openai_compat",
    "annalign.engine.backends.anthropic_backend",
    "annalign.engine.backends.local_llama",
    "annalign.engine.backends.fake",
)
#: The entry-point group of third-party backends (``[project.entry-points."annalign.backends"]``).
ENTRY_POINT_GROUP = "annalign.backends"

_NAME = re.compile(r"^[a-z][a-z0-9_-]*$")
_REGISTRY: dict[str, type[Backend]] = {}
_state = {"builtins": False}
_loaded_entry_points: set[str] = set()

B = TypeVar("B", bound=type[Backend])


def register_backend(
    name: str,
    *,
    accepts_base_url: bool = False,
    constraints: Iterable[str] = (),
    supports_logprobs: bool = False,
    serial: bool = False,
    default_constraint: str = "none",
    base_url_env: str | None = None,
) -> Callable[[B], B]:
    """Class decorator: make a Backend subclass the one serving ``NAME:MODEL`` specs, with its capabilities.

    ``constraints`` are the answer-constraint modes it accepts besides "none"; ``default_constraint``
    is the one "auto" picks; ``serial`` runs one request at a time; ``base_url_env`` names the
    environment variable read for a base URL when the spec gives none.
    """
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValueError(f"backend name {name!r} must be lower-case letters, digits, '-' or '_', starting with a letter")
    modes = tuple(constraints)
    if default_constraint != "none" and default_constraint not in modes:
        raise ValueError(f"backend {name!r}: default_constraint {default_constraint!r} is not among its constraints {modes}")

    def decorate(cls: B) -> B:
        if not (isinstance(cls, type) and issubclass(cls, Backend)):
            raise TypeError(f"@register_backend({name!r}) decorates Backend subclasses, not {cls!r}")
        existing = _REGISTRY.get(name)
        if existing is not None and _where(existing) != _where(cls):
            raise ValueError(f"backend {name!r} is registered already by {_where(existing)}; {_where(cls)} cannot take its name")
        cls.name = name
        cls.accepts_base_url = bool(accepts_base_url)
        cls.constraints = modes
        cls.supports_logprobs = bool(supports_logprobs)
        cls.serial = bool(serial)
        cls.default_constraint = default_constraint
        cls.base_url_env = base_url_env
        _REGISTRY[name] = cls
        return cls

    return decorate


def _where(cls: type) -> str:
    """Where a class is defined, ``module.QualName`` (a module imported twice defines it again, same name)."""
    return f"{cls.__module__}.{cls.__qualname__}"


def _load_builtins() -> None:
    """Import the built-in backend modules once (each registers itself)."""
    if not _state["builtins"]:
        _state["builtins"] = True
        for module in BUILTIN_BACKENDS:
            importlib.import_module(module)


def _entry_points() -> list[object]:
    """The installed entry points of the ``annalign.backends`` group."""
    from importlib.metadata import entry_points

    return list(entry_points(group=ENTRY_POINT_GROUP))


def _load_entry_point(name: str) -> None:
    """Load the plugin that declares backend ``name``, if one is installed; InputError when it fails or does not register it."""
    if name in _loaded_entry_points:
        return
    for ep in _entry_points():
        if getattr(ep, "name", None) != name:
            continue
        _loaded_entry_points.add(name)
        value = getattr(ep, "value", "?")
        try:
            ep.load()  # type: ignore[attr-defined]
        except Exception as exc:  # noqa: BLE001 - any failure of third-party code is reported as input
            raise InputError(f"backend plugin {name!r} ({value}) could not be loaded: {type(exc).__name__}: {exc}") from None
        if name not in _REGISTRY:
            raise InputError(
                f"backend plugin {name!r} ({value}) registered no backend of that name; "
                f"decorate its class with @register_backend({name!r})"
            )
        return


def find_backend(name: str) -> type[Backend] | None:
    """The class registered for provider ``name`` (built-in, decorated elsewhere, or a plugin), None when there is none."""
    _load_builtins()
    if name not in _REGISTRY:
        _load_entry_point(name)
    return _REGISTRY.get(name)


def get_backend(name: str) -> type[Backend]:
    """The class registered for provider ``name``; InputError naming the known providers otherwise."""
    cls = find_backend(name)
    if cls is None:
        raise InputError(f"backend {name!r} is unknown; available: {', '.join(backend_names())}")
    return cls


def registered_backends() -> dict[str, type[Backend]]:
    """Provider name -> backend class of every backend registered so far (built-ins always), built-ins first."""
    _load_builtins()
    return {name: _REGISTRY[name] for name in backend_names() if name in _REGISTRY}


def backend_names() -> list[str]:
    """Every provider name: registered ones first (built-ins in their order), then plugins not loaded yet."""
    _load_builtins()
    rank = {module: k for k, module in enumerate(BUILTIN_BACKENDS)}
    names = sorted(_REGISTRY, key=lambda n: rank.get(_REGISTRY[n].__module__, len(rank)))
    names += [n for n in dict.fromkeys(getattr(ep, "name", "") for ep in _entry_points()) if n and n not in names]
    return names


def make_backend(spec: ModelSpec, *, api_key: str | None = None, n_threads: int | None = None) -> Backend:
    """Create the backend serving a spec (its SDK is imported now); log records are redacted from now on."""
    redact_log_records()
    return get_backend(spec.provider)(spec, api_key=api_key, n_threads=n_threads)


def price_of(spec: ModelSpec) -> tuple[float, float]:
    """Estimated (input, output) USD per million tokens of a spec, as its backend states it."""
    return get_backend(spec.provider).price(spec)
