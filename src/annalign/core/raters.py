"""Machine-rater names: the one place that knows how a persona rater is named (``MODEL|persona=GROUP``).

A persona rater is a model asked to answer as a member of a rater group; its ratings are stored
under ``<model>|persona=<group label>``, e.g. ``gpt-4o|persona=White × Woman``. The group label
follows ``annalign.core.grouping`` (values joined by `` × ``; ``White|Woman``, the older spelling,
is read as well). Every other rater name is a plain (baseline) machine rater.
"""

from __future__ import annotations

#: Between the model and the group label in a persona rater name.
PERSONA_TAG = "|persona="


def format_persona_rater(model: str, group: str) -> str:
    """The machine-rater name under which a persona rating of ``group`` by ``model`` is stored."""
    return f"{model}{PERSONA_TAG}{group}"


def parse_persona_rater(name: str) -> tuple[str, str] | None:
    """(model, group label) of a persona rater name, stripped; None for a plain machine rater."""
    if PERSONA_TAG not in name:
        return None
    model, group = name.split(PERSONA_TAG, 1)
    return model.strip(), group.strip()


def is_persona_rater(name: str) -> bool:
    """Whether ``name`` is a persona rater name."""
    return parse_persona_rater(name) is not None
