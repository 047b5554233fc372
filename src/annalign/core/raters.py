"""Machine-rater names: the one place that knows how a persona rater is named (``MODEL|persona=GROUP``).

A persona rater is a model asked to answer as a member of a rater group; its ratings are stored
under ``<model>|persona=<group label>``, e.g. ``gpt-4o|persona=White × Woman``. The group label
follows ``annalign.core.grouping`` (values joined by `` × ``; ``White|Woman``, the older spelling,
is read as well). Every other rater name is a plain (baseline) machine rater.

annalign's own runs name a rater ``<model>/<template>``, and a built-in template's persona variant
inserts ``-persona`` before its version (``dices-label-v1`` -> ``dices-label-persona-v1``), so the
persona rater ``m/dices-label-persona|persona=G`` has the baseline ``m/dices-label``
(``baseline_names``).
"""

from __future__ import annotations

import re

#: Between the model and the group label in a persona rater name.
PERSONA_TAG = "|persona="
#: A template name's version suffix (``-v1``), kept last by the persona variant.
VERSION_SUFFIX = re.compile(r"^(.*?)(-v\d+)?$")
PERSONA_TEMPLATE = "-persona"


def persona_template(name: str) -> str:
    """The persona variant of a template name: dices-likert-v1 -> dices-likert-persona-v1 (a persona template stays)."""
    base, version = VERSION_SUFFIX.match(name).groups()  # type: ignore[union-attr]
    return name if base.endswith(PERSONA_TEMPLATE) else f"{base}{PERSONA_TEMPLATE}{version or ''}"


def plain_template(name: str) -> str:
    """The template a persona variant comes from: dices-likert-persona-v1 -> dices-likert-v1 (a plain name stays)."""
    base, version = VERSION_SUFFIX.match(name).groups()  # type: ignore[union-attr]
    return f"{base[: -len(PERSONA_TEMPLATE)]}{version or ''}" if base.endswith(PERSONA_TEMPLATE) else name


def baseline_names(model: str) -> list[str]:
    """The plain rater names a persona rater's model part may have: itself, and for ``<model>/<persona template>`` the plain template's."""
    head, slash, template = model.rpartition("/")
    plain = f"{head}{slash}{plain_template(template)}" if slash else model
    return list(dict.fromkeys([model, plain]))


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
