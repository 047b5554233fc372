"""The backend registry: toy backends from outside the package, their capabilities read by the engine, plugins by entry point."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from tests.clihelp import error_line, run_cli
from tests.engine.toy_backend import ToyBackend, ToyParallelBackend, toy_answer

from annalign.core.machines import MachineRatings
from annalign.engine import (
    AnnotateOptions,
    annotate,
    annotate_ratings,
    backend_names,
    get_backend,
    parse_model_spec,
)
from annalign.engine.backends import Backend, ChatRequest, Completion, register_backend
from annalign.engine.prompts import load_template
from annalign.errors import InputError

QUIET = AnnotateOptions(progress=False)
SDKS = ("openai", "anthropic", "llama_cpp", "httpx")


def _expected(dices, n: int, template: str = "dices-likert") -> list[str]:
    """The toy's answers for the first ``n`` items, computed here from the rendered prompts."""
    tmpl = load_template(template)
    answers = tuple(a for a, _ in tmpl.answers)
    items = dices.items.iloc[:n]
    return [
        toy_answer(ChatRequest(tmpl.render(str(c), str(r)), answers, tmpl.kind))
        for c, r in zip(items["context"].fillna(""), items["response"].fillna(""), strict=True)
    ]


def test_toy_backend_from_outside_annotates_through_the_python_api(dices, tmp_path: Path) -> None:
    ToyBackend.constraints_seen.clear()
    frame = annotate(dices, "toy:any", ledger=tmp_path / "l.sqlite", options=QUIET.but(limit=6, concurrency=8))
    assert frame["answer"].tolist() == _expected(dices, 6) and (frame["status"] == "ok").all()
    assert frame["score"].tolist() == [float(a) for a in _expected(dices, 6)]  # no logprobs: the answer's value
    assert set(frame["rater"]) == {"toy:any/dices-likert"}
    s = frame.attrs["annotate"]
    assert s["sent"] == 6 and s["cost_usd"] == pytest.approx(6 * 10 * 1000.0 / 1e6)  # the price the backend states
    assert ToyBackend.constraints_seen == ["regex"] * 6  # "auto" is the backend's declared default
    assert ToyBackend.max_in_flight == 1  # serial=True: one at a time despite concurrency 8
    again = annotate(dices, "toy:any", ledger=tmp_path / "l.sqlite", options=QUIET.but(limit=6))
    assert again.attrs["annotate"]["sent"] == 0 and again["score"].equals(frame["score"])


def test_serial_flag_is_what_limits_concurrency(dices, tmp_path: Path) -> None:
    frame = annotate(dices, "toypar:any", ledger=tmp_path / "l.sqlite", options=QUIET.but(limit=16, concurrency=8))
    assert frame["answer"].tolist() == _expected(dices, 16)
    assert ToyParallelBackend.max_in_flight > 1
    assert ToyParallelBackend.constraints_seen[:16] == ["none"] * 16  # its default is "none"


def test_toy_backend_through_annotate_ratings(dices, tmp_path: Path) -> None:
    ratings = annotate_ratings(dices, "toy:any", ledger=tmp_path / "l.sqlite", options=QUIET.but(limit=5))
    assert isinstance(ratings, MachineRatings) and ratings.names == ["toy:any/dices-likert"]
    expected = [(float(a) - 1) / 4 for a in _expected(dices, 5)]  # Likert 1-5 onto DICES' 0-1
    assert ratings.scores[:5, 0].tolist() == pytest.approx(expected)
    assert np.isnan(ratings.scores[5:, 0]).all() and len(ratings.unrated["toy:any/dices-likert"]) == dices.n_items - 5


def test_toy_backend_through_the_cli(dices, tmp_path: Path, capsys) -> None:
    out = tmp_path / "toy.csv"
    code, stdout, err = run_cli(capsys, "annotate", "--dataset", "dices350", "--model", "toy:cli", "--limit", "4",
                                "--ledger", str(tmp_path / "l.sqlite"), "--out", str(out), "--no-progress")  # fmt: skip
    assert code == 0, err
    frame = pd.read_csv(out)
    assert frame["answer"].astype(str).tolist() == _expected(dices, 4) and "4 ratings" in stdout


def test_capabilities_are_checked_from_the_registration(dices, tmp_path: Path, capsys) -> None:
    with pytest.raises(InputError, match=r"--constrain 'json_schema' is not available for toy: models \(none, regex\)"):
        annotate(dices, "toy:any", ledger=tmp_path / "l.sqlite", options=QUIET.but(constrain="json_schema"))
    with pytest.raises(InputError, match="--constrain 'regex' is not available for anthropic"):
        annotate(dices, "anthropic:claude-x", ledger=tmp_path / "l.sqlite", options=QUIET.but(constrain="regex"))
    with pytest.raises(InputError, match="toy: models take no @BASE_URL"):
        parse_model_spec("toy:any@http://127.0.0.1:9/v1")
    with pytest.raises(InputError, match="fake: models take none"):
        parse_model_spec("fake:hash", base_url="http://127.0.0.1:9/v1")
    assert parse_model_spec("openai:m@http://127.0.0.1:9/v1").base_url == "http://127.0.0.1:9/v1"
    code, _, err = run_cli(capsys, "annotate", "--dataset", "dices350", "--model", "toy:any", "--constrain", "bogus",
                           "--ledger", str(tmp_path / "l.sqlite"), "--out", str(tmp_path / "o.csv"), "--no-progress")  # fmt: skip
    assert code == 2 and "--constrain 'bogus' is not available for toy: models" in error_line(err)
    code, _, err = run_cli(capsys, "annotate", "--dataset", "dices350", "--model", "nosuch:m", "--out", str(tmp_path / "o.csv"))
    assert code == 2 and "PROVIDER one of openai, anthropic, local, fake" in error_line(err)


def test_builtins_are_registered_with_their_capabilities() -> None:
    assert backend_names()[:4] == ["openai", "anthropic", "local", "fake"]
    openai_, anthropic_, local = get_backend("openai"), get_backend("anthropic"), get_backend("local")
    assert openai_.accepts_base_url and openai_.supports_logprobs and openai_.base_url_env == "OPENAI_BASE_URL"
    assert set(openai_.constraints) == {"grammar", "guided_choice", "json_schema"}
    assert anthropic_.accepts_base_url and not anthropic_.supports_logprobs and anthropic_.constraints == ()
    assert local.serial and local.default_constraint == "grammar" and not local.accepts_base_url
    assert openai_.price(parse_model_spec("openai:gpt-4o-mini-2024-07-18")) == (0.15, 0.60)
    assert openai_.price(parse_model_spec("openai:gpt-4o@http://127.0.0.1:9/v1")) == (0.0, 0.0)  # a custom endpoint
    assert anthropic_.price(parse_model_spec("anthropic:claude-sonnet-4-5")) == (3.00, 15.00)


def test_register_backend_refuses_mistakes() -> None:
    class NotABackend:
        pass

    with pytest.raises(TypeError, match="Backend subclasses"):
        register_backend("oddity")(NotABackend)  # type: ignore[type-var]
    with pytest.raises(ValueError, match="lower-case"):
        register_backend("Bad Name")
    with pytest.raises(ValueError, match="default_constraint 'grammar' is not among"):
        register_backend("oddity", default_constraint="grammar")

    class Impostor(Backend):
        async def complete(self, request: ChatRequest, *, timeout: float) -> Completion:
            return Completion("1")

    with pytest.raises(ValueError, match="registered already by annalign.engine.backends.openai_compat.OpenAIBackend"):
        register_backend("openai")(Impostor)
    assert get_backend("openai").__name__ == "OpenAIBackend"


def test_importing_the_engine_loads_no_sdk() -> None:
    code = f"""
import sys
import annalign.engine as engine
assert [m for m in {SDKS!r} if m in sys.modules] == [], "import"
import annalign.engine.backends.base
assert not any(m.startswith("annalign.engine.backends.") and m.rsplit(".", 1)[1] not in ("base", "registry")
               for m in sys.modules), sorted(m for m in sys.modules if m.startswith("annalign.engine"))
for spec in ("openai:gpt-4o", "anthropic:claude-x", "local:smollm2-135m", "fake:hash"):
    engine.parse_model_spec(spec)
engine.AnnotateOptions(samples=2); engine.backend_names()
assert [m for m in {SDKS!r} if m in sys.modules] == [], [m for m in {SDKS!r} if m in sys.modules]
"""
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr


# -- a third-party plugin through the entry-point group "annalign.backends" ---------------------------------


def _plugin(site: Path, name: str, body: str) -> None:
    """A tiny installed distribution: module ``annalign_plugin_NAME`` and a dist-info declaring its entry point."""
    module = f"annalign_plugin_{name}"
    (site / f"{module}.py").write_text(textwrap.dedent(body), "utf-8")
    info = site / f"annalign_plugin_{name}-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: annalign-plugin-{name}\nVersion: 0.1\n", "utf-8")
    (info / "entry_points.txt").write_text(f"[annalign.backends]\n{name} = {module}\n", "utf-8")


PLUGIN = """
from annalign.engine.backends import Backend, Completion, register_backend

@register_backend("NAME")
class PluginBackend(Backend):
    async def complete(self, request, *, timeout):
        return Completion(request.answers[-1], prompt_tokens=1, completion_tokens=1)
"""


def test_plugin_backend_by_entry_point(dices, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    site = tmp_path / "site"
    site.mkdir()
    _plugin(site, "eptoy", PLUGIN.replace("NAME", "eptoy"))
    _plugin(site, "epbroken", "raise RuntimeError('boom at import')\n")
    _plugin(site, "epsilent", "X = 1\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), *filter(None, [os.environ.get("PYTHONPATH")])])}

    def cli(model: str) -> subprocess.CompletedProcess[str]:
        args = ["annotate", "--dataset", "dices350", "--model", model, "--limit", "3", "--ledger", str(tmp_path / "l.sqlite"),
                "--out", str(tmp_path / f"{model.split(':')[0]}.csv"), "--no-progress"]  # fmt: skip
        command = [sys.executable, "-c", "import sys; from annalign.cli.commands import main; sys.exit(main(sys.argv[1:]))", *args]
        return subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)

    proc = cli("eptoy:m")
    assert proc.returncode == 0, proc.stderr
    frame = pd.read_csv(tmp_path / "eptoy.csv")
    assert frame["rater"].tolist() == ["eptoy:m/dices-likert"] * 3 and frame["answer"].tolist() == [5, 5, 5]
    broken = cli("epbroken:m")
    assert broken.returncode == 2 and "backend plugin 'epbroken'" in broken.stderr and "boom at import" in broken.stderr
    silent = cli("epsilent:m")
    assert silent.returncode == 2 and "registered no backend of that name" in silent.stderr, silent.stderr
    # The same plugin in this process, through the Python API: found when first asked for.
    monkeypatch.syspath_prepend(str(site))
    assert {"eptoy", "epbroken", "epsilent"} <= set(backend_names())
    ratings = annotate_ratings(dices, "eptoy:m", ledger=tmp_path / "api.sqlite", options=QUIET.but(limit=3))
    assert ratings.names == ["eptoy:m/dices-likert"] and ratings.scores[:3, 0].tolist() == [1.0, 1.0, 1.0]
    with pytest.raises(InputError, match="boom at import"):
        parse_model_spec("epbroken:m")


def test_the_recipe_file_registers_as_written(dices) -> None:
    """The backend file of docs/recipes/add-a-backend.md, run as it stands, is a registered backend."""
    text = (Path(__file__).resolve().parents[2] / "docs" / "recipes" / "add-a-backend.md").read_text("utf-8")
    code = text.split("```python\n", 1)[1].split("```", 1)[0]
    exec(compile(code, "add-a-backend.md", "exec"), {"__name__": "recipe_vertex"})  # noqa: S102 - our own doc
    vertex = get_backend("vertex")
    assert vertex.accepts_base_url and vertex.constraints == ("json_schema",) and not vertex.supports_logprobs
    spec = parse_model_spec("vertex:gemini-2.5-flash@https://example.invalid/v1")
    assert vertex.price(spec) == (1.25, 5.00) and spec.endpoint == "https://example.invalid/v1"
    with pytest.raises(InputError, match="--constrain 'grammar' is not available for vertex"):
        annotate(dices, "vertex:gemini-2.5-flash", options=QUIET.but(constrain="grammar"))
