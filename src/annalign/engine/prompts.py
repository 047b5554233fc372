"""Prompt templates: versioned text files (built in or the user's), rendered per item, hashed.

File format: ``key: value`` header lines (``name``, ``version``, ``kind`` = likert | label | distribution
(the model states the share of annotators giving each answer, as JSON),
``answers`` = ``A=value, ...``), then ``--- system`` and ``--- user`` sections. Placeholders
``{{context}}``, ``{{response}}`` and ``{{persona}}`` are filled in one pass, so text inside the
data is never re-expanded. The sha256 of the file text is recorded with every result.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from annalign.core.raters import persona_template
from annalign.errors import InputError

PLACEHOLDER = re.compile(r"\{\{\s*(context|response|persona)\s*\}\}")
#: Tags that delimit the data in the built-in templates; neutralised inside the data itself.
DATA_TAGS = re.compile(r"<\s*(/?)\s*(conversation|final_response)\s*>", re.IGNORECASE)
KINDS = ("likert", "label", "distribution")


@dataclass(frozen=True)
class Template:
    """A parsed prompt template with its allowed answers and their numeric values."""

    name: str
    version: str
    kind: str
    answers: tuple[tuple[str, float], ...]
    system: str
    user: str
    sha256: str
    source: str

    @property
    def uses_persona(self) -> bool:
        """Whether the template asks the model to answer as a persona."""
        return "persona" in set(PLACEHOLDER.findall(self.system + self.user))

    @property
    def answer_values(self) -> dict[str, float]:
        """Allowed answer -> numeric value (Likert digit, or the DICES label value)."""
        return dict(self.answers)

    def render(self, context: str, response: str, persona: str | None = None) -> list[dict[str, str]]:
        """Chat messages for one item; data tags inside the data are neutralised."""
        if self.uses_persona and not persona:
            raise InputError(f"template {self.name!r} needs a persona (--persona)")
        values = {
            "context": neutralise(context),
            "response": neutralise(response),
            "persona": (persona or "").strip(),
        }

        def fill(text: str) -> str:
            return PLACEHOLDER.sub(lambda m: values[m.group(1)], text)

        messages = []
        if self.system.strip():
            messages.append({"role": "system", "content": fill(self.system)})
        messages.append({"role": "user", "content": fill(self.user)})
        return messages


def neutralise(text: str) -> str:
    """Replace data-delimiting tags in item text so data cannot close its own delimiter."""
    return DATA_TAGS.sub(lambda m: f"[{m.group(1)}{m.group(2)}]", str(text))


def builtin_names() -> list[str]:
    """Names of the templates shipped in the package."""
    folder = resources.files("annalign").joinpath("engine", "templates")
    return sorted(p.name[: -len(".txt")] for p in folder.iterdir() if p.name.endswith(".txt"))


def text_hash(text: str) -> str:
    """Stable sha256 of a text with line endings normalised."""
    return hashlib.sha256(text.replace("\r\n", "\n").encode("utf-8")).hexdigest()


def load_template(name_or_path: str | Path) -> Template:
    """Load a built-in template by name or a user's template file."""
    key = str(name_or_path)
    if key in builtin_names():
        source = f"builtin:{key}"
        text = resources.files("annalign").joinpath("engine", "templates", f"{key}.txt").read_text(encoding="utf-8")
        # A built-in is named by its file (dices-likert-v1 keeps its version-1 text, and so its hash).
        return parse_template(text, source=source, name=key)
    else:
        path = Path(key)
        if not path.is_file():
            raise InputError(f"template {key!r} is neither a built-in ({', '.join(builtin_names())}) nor an existing file")
        source = str(path)
        text = path.read_text(encoding="utf-8")
    return parse_template(text, source=source)


def parse_template(text: str, *, source: str = "<text>", name: str | None = None) -> Template:
    """Parse template text (see the module docstring for the format)."""
    text = text.replace("\r\n", "\n")
    header: dict[str, str] = {}
    sections: dict[str, list[str]] = {}
    current: list[str] | None = None
    for number, line in enumerate(text.split("\n"), start=1):
        marker = re.fullmatch(r"---\s*(system|user)\s*", line.strip()) if line.startswith("---") else None
        if marker:
            current = sections.setdefault(marker.group(1), [])
            continue
        if current is not None:
            current.append(line)
        elif line.strip() and not line.lstrip().startswith("#"):
            if ":" not in line:
                raise InputError(f"{source}, line {number}: expected 'key: value' or a '--- system'/'--- user' section")
            k, v = line.split(":", 1)
            header[k.strip().lower()] = v.strip()
    if "user" not in sections:
        raise InputError(f"{source}: has no '--- user' section")
    kind = header.get("kind", "likert").lower()
    if kind not in KINDS:
        raise InputError(f"{source}: kind must be one of {', '.join(KINDS)}, not {kind!r}")
    answers = _parse_answers(header.get("answers"), kind, source)
    user = "\n".join(sections["user"]).strip("\n")
    system = "\n".join(sections.get("system", [])).strip("\n")
    if not {"context", "response"} <= set(PLACEHOLDER.findall(system + user)):
        raise InputError(f"{source}: the template must contain {{{{context}}}} and {{{{response}}}}")
    name = name or header.get("name") or Path(source).name.split(".")[0]
    return Template(
        name=name,
        version=header.get("version", "1"),
        kind=kind,
        answers=answers,
        system=system,
        user=user,
        sha256=text_hash(text),
        source=source,
    )


def _parse_answers(spec: str | None, kind: str, source: str) -> tuple[tuple[str, float], ...]:
    """Read ``A=1, B=0`` into ((A, 1.0), (B, 0.0)); defaults per kind."""
    if not spec:
        spec = "1=1, 2=2, 3=3, 4=4, 5=5" if kind == "likert" else "Yes=1, Unsure=0.5, No=0"
    out: list[tuple[str, float]] = []
    for part in spec.split(","):
        if "=" not in part:
            raise InputError(f"{source}: answers must look like 'Yes=1, No=0', got {part.strip()!r}")
        label, value = (s.strip() for s in part.split("=", 1))
        try:
            out.append((label, float(value)))
        except ValueError:
            raise InputError(f"{source}: answer {label!r} has a non-numeric value {value!r}") from None
    labels = [a.casefold() for a, _ in out]
    if len(set(labels)) != len(labels) or len(out) < 2 or any(not a for a in labels):
        raise InputError(f"{source}: answers must be at least two distinct non-empty labels")
    return tuple(out)


def persona_variant(name: str) -> str:
    """The persona version of a built-in template name: dices-likert-v1 -> dices-likert-persona-v1 (annalign.core.raters)."""
    return persona_template(name)


def resolve_template(name_or_path: str | Path, personas: list[str] | None) -> Template:
    """Load a template, switching a built-in to its persona variant when personas are given."""
    template = load_template(name_or_path)
    if personas:
        if not template.uses_persona:
            variant = persona_variant(str(name_or_path))
            if str(name_or_path) in builtin_names() and variant in builtin_names():
                return load_template(variant)
            raise InputError(f"template {template.name!r} has no {{{{persona}}}} placeholder, so --persona cannot be used with it")
    elif template.uses_persona:
        raise InputError(f"template {template.name!r} answers as a persona: give at least one --persona")
    return template
