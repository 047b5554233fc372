"""The LLM annotation engine: templates, backends, strict parsing, a resumable ledger and a runner."""

from annalign.engine.api import annotate, default_ledger_path
from annalign.engine.backends.base import DEFAULT_MODEL, parse_model_spec
from annalign.engine.frames import write_machine_file
from annalign.engine.prompts import builtin_names, load_template

__all__ = [
    "DEFAULT_MODEL",
    "annotate",
    "builtin_names",
    "default_ledger_path",
    "load_template",
    "parse_model_spec",
    "write_machine_file",
]
