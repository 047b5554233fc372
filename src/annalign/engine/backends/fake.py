"""``fake:`` an in-process, deterministic test double: offline, instant answers for tests and dry runs.

``fake:hash`` answers each prompt with one of the template's allowed answers chosen by a hash of
the prompt (item text, template and persona), and log-probabilities peaked on it; ``fake:fixed``
always gives one answer (``?answer=A``, default the first allowed one). Options, as a query:
``seed=N`` (another deterministic draw), ``fail=F`` / ``unparsed=F`` (that fraction of prompts
fails permanently / answers with text no parser reads), ``logprobs=0`` (answers only). At a
temperature above 0 each sample is drawn from those probabilities with the request's seed.
Examples: ``fake:hash``, ``fake:hash?seed=2&fail=0.1``, ``fake:fixed?answer=Yes``.
(``annalign.testing.fakeserver`` is the HTTP double that tests the SDK paths.)
"""

from __future__ import annotations

import hashlib
import json
import math
import random
from dataclasses import dataclass
from urllib.parse import parse_qsl

from annalign.engine.backends.base import Backend, BackendError, ChatRequest, Completion, ModelSpec
from annalign.engine.backends.registry import register_backend
from annalign.errors import InputError

MODES = ("hash", "fixed")
#: Probability the chosen answer gets; the others share the rest evenly.
PEAK = 0.6
UNPARSED_TEXT = "I would rather not rate this conversation."


@dataclass(frozen=True)
class FakeSettings:
    """What a ``fake:MODE?key=value&...`` model name asks for."""

    mode: str
    seed: int = 0
    fail: float = 0.0
    unparsed: float = 0.0
    logprobs: bool = True
    answer: str | None = None


def fake_settings(model: str) -> FakeSettings:
    """Parse ``MODE?key=value&...``; InputError naming the bad part."""
    mode, _, query = model.partition("?")
    if mode not in MODES:
        raise InputError(f"fake model {mode!r} is unknown; available: {', '.join(MODES)} (e.g. fake:hash?seed=1)")
    known = {"seed", "fail", "unparsed", "logprobs", "answer"}
    options = dict(parse_qsl(query, keep_blank_values=True))
    for key in options:
        if key not in known:
            raise InputError(f"fake:{model}: option {key!r} is unknown; available: {', '.join(sorted(known))}")
    if "answer" in options and mode != "fixed":
        raise InputError(f"fake:{model}: answer= is an option of fake:fixed only")
    try:
        seed = int(options.get("seed", "0"))
        fail, unparsed = float(options.get("fail", "0")), float(options.get("unparsed", "0"))
    except ValueError:
        raise InputError(f"fake:{model}: seed must be an integer, fail and unparsed fractions between 0 and 1") from None
    for name, value in (("fail", fail), ("unparsed", unparsed)):
        if not (math.isfinite(value) and 0.0 <= value <= 1.0):
            raise InputError(f"fake:{model}: {name} must be a fraction between 0 and 1, not {value:g}")
    flag = options.get("logprobs", "1").strip().lower()
    if flag not in ("0", "1", "true", "false", "yes", "no"):
        raise InputError(f"fake:{model}: logprobs must be 0 or 1, not {flag!r}")
    return FakeSettings(mode, seed, fail, unparsed, flag in ("1", "true", "yes"), options.get("answer"))


@register_backend("fake", constraints=("grammar", "guided_choice", "json_schema"), supports_logprobs=True)
class FakeBackend(Backend):
    """Deterministic answers computed from the prompt; no network, no model, no key."""

    def __init__(self, spec: ModelSpec, *, api_key: str | None = None, n_threads: int | None = None):
        super().__init__(spec)
        self.settings = fake_settings(spec.model)

    @classmethod
    def check_spec(cls, spec: ModelSpec) -> None:
        """The mode and options must parse."""
        fake_settings(spec.model)

    async def complete(self, request: ChatRequest, *, timeout: float) -> Completion:
        """Answer from the prompt's hash: the same prompt always gets the same answer."""
        s = self.settings
        digest = hashlib.sha256(f"{s.seed}\x00".encode() + repr(request.messages).encode()).digest()
        draws = [int.from_bytes(digest[k : k + 4], "big") / 2**32 for k in (0, 4, 8)]
        if draws[1] < s.fail:
            raise BackendError("fake: this prompt fails (fail= option)", transient=False)
        prompt_tokens = sum(len(m["content"]) for m in request.messages) // 4
        if draws[2] < s.unparsed or not request.answers:
            return Completion(UNPARSED_TEXT, finish_reason="stop", prompt_tokens=prompt_tokens, completion_tokens=9)
        probs = self._probabilities(request.answers, int(draws[0] * 2**32))
        if request.kind == "distribution":  # the stated shares, in percent: {"Yes": 60, "Unsure": 20, "No": 20}
            shares = json.dumps({a: round(100 * p, 2) for a, p in probs.items()})
            return Completion(shares, finish_reason="stop", prompt_tokens=prompt_tokens, completion_tokens=12)
        answer = max(probs, key=probs.__getitem__)
        if request.temperature > 0:
            rng = random.Random(f"{digest.hex()}:{request.seed}")
            answer = rng.choices(list(probs), weights=list(probs.values()))[0]
        logprobs = {a: math.log(p) for a, p in probs.items()} if s.logprobs and request.top_logprobs else None
        return Completion(answer, answer_logprobs=logprobs, finish_reason="stop", prompt_tokens=prompt_tokens, completion_tokens=1)

    def _probabilities(self, answers: tuple[str, ...], draw: int) -> dict[str, float]:
        """The allowed answers' probabilities: PEAK on the chosen one, the rest shared evenly."""
        if self.settings.mode == "fixed":
            chosen = self.settings.answer if self.settings.answer is not None else answers[0]
            if chosen not in answers:
                raise BackendError(f"fake:fixed answer {chosen!r} is not an allowed answer ({', '.join(answers)})", transient=False, fatal=True)
        else:
            chosen = answers[draw % len(answers)]
        if len(answers) == 1:
            return {chosen: 1.0}
        rest = (1.0 - PEAK) / (len(answers) - 1)
        return {a: PEAK if a == chosen else rest for a in answers}
