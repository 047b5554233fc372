"""Rating extraction from a model's answer only: a strict text parser and log-probability scores.

The text parser accepts a lone allowed answer (optionally quoted, bolded or with a full stop), a
JSON object ``{"rating": ...}``, or a lone answer on the first line followed by an explanation that
names no other answer. Anything else (several candidate answers, text around the answer, refusals,
out-of-range numbers) is unparsed with a reason, never guessed.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

REFUSAL = re.compile(
    r"\b(i\s+(?:can(?:no|')?t|cannot|won'?t|will not|am not able|'m not able|am unable|'m unable)|i'?m sorry|"
    r"i apologi[sz]e|as an ai\b|i do not feel comfortable|i don'?t feel comfortable)",
    re.IGNORECASE,
)
NUMBER = re.compile(r"(?<![\w.])[-+]?\d+(?:[.,]\d+)?(?![\w])")
DECORATION = " \t\r\n\"'`*_.:!"
JSON_KEYS = ("rating", "answer", "label")
#: Tokens that may come before the answer token (JSON syntax, a "rating" key, spaces).
SYNTAX_TOKEN = re.compile(r"^[\s{}\[\]\"'`:,*_]*(?:json|rating|answer|label)?[\s{}\[\]\"'`:,*_]*$", re.IGNORECASE)


@dataclass(frozen=True)
class ParseResult:
    """Outcome of parsing one answer: status ``ok`` with the answer, or ``unparsed`` with why."""

    status: str
    answer: str | None
    reason: str

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def _ok(answer: str, reason: str = "lone answer") -> ParseResult:
    return ParseResult("ok", answer, reason)


def _bad(reason: str) -> ParseResult:
    return ParseResult("unparsed", None, reason)


def _match(token: str, answers: Sequence[str]) -> str | None:
    """The allowed answer that ``token`` is exactly (case-insensitive), after stripping decoration."""
    t = token.strip(DECORATION).casefold()
    for a in answers:
        if t == a.casefold():
            return a
    return None


def _candidates(text: str, answers: Sequence[str]) -> list[str]:
    """Every answer-like word or number in ``text`` (allowed or not), in order."""
    numeric = all(re.fullmatch(r"-?\d+", a) for a in answers)
    if numeric:
        return [m.group(0).lstrip("+") for m in NUMBER.finditer(text)]
    words = "|".join(re.escape(a) for a in sorted(answers, key=len, reverse=True))
    return [m.group(0) for m in re.finditer(rf"(?<!\w)(?:{words})(?!\w)", text, re.IGNORECASE)]


def _from_json(text: str, answers: Sequence[str]) -> ParseResult:
    """Parse ``{"rating": n}`` (also inside a ```json fence)."""
    body = re.sub(r"^```(?:json)?\s*|\s*```$", "", text.strip(), flags=re.IGNORECASE)
    try:
        obj = json.loads(body)
    except ValueError:
        return _bad("malformed JSON answer")
    if not isinstance(obj, dict):
        return _bad("JSON answer is not an object")
    keys = [k for k in obj if str(k).casefold() in JSON_KEYS]
    if len(keys) != 1:
        return _bad(f"JSON answer needs exactly one of {', '.join(JSON_KEYS)}, has {sorted(map(str, obj))}")
    value = obj[keys[0]]
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return _bad(f"JSON {keys[0]} is not a number or label: {value!r}")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    found = _match(str(value), answers)
    if found is None:
        return _bad(f"out of range: JSON {keys[0]} {value!r} is not one of {', '.join(answers)}")
    return _ok(found, "JSON answer")


def parse_answer(text: str | None, answers: Sequence[str]) -> ParseResult:
    """Strictly parse a model's answer into one of ``answers``; see the module docstring."""
    if text is None or not text.strip():
        return _bad("empty output")
    stripped = text.strip()
    if stripped.startswith(("{", "```")):
        return _from_json(stripped, answers)
    found = _match(stripped, answers)
    if found is not None:
        return _ok(found)
    first, _, rest = stripped.partition("\n")
    head = _match(first, answers)
    if head is not None:
        others = _candidates(rest, answers)
        if others:
            return _bad(f"ambiguous: answer {head} then {', '.join(others[:3])} in the explanation")
        return _ok(head, "answer on the first line, explanation ignored")
    candidates = _candidates(stripped, answers)
    allowed = [c for c in candidates if _match(c, answers)]
    if REFUSAL.search(stripped) and not (len(candidates) == 1 and allowed):
        return _bad("refusal")
    if len(set(c.casefold() for c in candidates)) > 1:
        return _bad(f"ambiguous: several candidate answers ({', '.join(candidates[:4])})")
    if candidates and not allowed:
        return _bad(f"out of range: {candidates[0]} is not one of {', '.join(answers)}")
    if allowed:
        return _bad(f"not a lone answer: text around {allowed[0]!r}")
    if REFUSAL.search(stripped):
        return _bad("refusal")
    return _bad("no answer found")


def match_answer_token(token: str, answers: Sequence[str]) -> str | None:
    """Map one generated token to the allowed answer it begins (exact, or a unique >=2-char prefix)."""
    t = token.strip(DECORATION).casefold()
    if not t:
        return None
    exact = [a for a in answers if a.casefold() == t]
    if exact:
        return exact[0]
    if len(t) < 2:
        return None
    prefix = [a for a in answers if a.casefold().startswith(t)]
    return prefix[0] if len(prefix) == 1 else None


def answer_position(tokens: Sequence[str]) -> int | None:
    """Index of the answer token: the first generated token that is not whitespace or JSON syntax."""
    for i, tok in enumerate(tokens):
        if not SYNTAX_TOKEN.match(tok):
            return i
    return None


def answer_logprobs(top: Iterable[tuple[str, float]], answers: Sequence[str]) -> dict[str, float]:
    """Log-probability of each allowed answer among one position's top tokens (variants summed)."""
    out: dict[str, float] = {}
    for token, logprob in top:
        answer = match_answer_token(token, answers)
        if answer is None or logprob is None or not math.isfinite(logprob):
            continue
        out[answer] = float(logprob) if answer not in out else float(math.log(math.exp(out[answer]) + math.exp(logprob)))
    return out


@dataclass(frozen=True)
class LogprobScore:
    """Probability-weighted rating over the allowed answers, with the mass they held and the argmax."""

    score: float
    mass: float
    argmax: str
    probs: dict[str, float]


def expected_score(logprobs: Mapping[str, float], values: Mapping[str, float]) -> LogprobScore | None:
    """Expected value of the answer under the renormalised answer probabilities (None if none seen)."""
    usable = {a: lp for a, lp in logprobs.items() if a in values and math.isfinite(lp)}
    if not usable:
        return None
    top = max(usable.values())
    weights = {a: math.exp(lp - top) for a, lp in usable.items()}
    total = sum(weights.values())
    probs = {a: w / total for a, w in weights.items()}
    mass = sum(math.exp(lp) for lp in usable.values())
    score = sum(p * values[a] for a, p in probs.items())
    return LogprobScore(score=score, mass=min(mass, 1.0), argmax=max(probs, key=lambda a: probs[a]), probs=probs)


#: A verbalized distribution's shares must sum to 100 (percent) or 1 (fractions) within this relative slack.
DISTRIBUTION_SUM_SLACK = 0.05
FENCE = re.compile(r"^```(?:json)?\s*(.*?)\s*```$", re.DOTALL | re.IGNORECASE)


@dataclass(frozen=True)
class DistributionParse:
    """Outcome of parsing a verbalized distribution: ``ok`` with shares summing to 1, or ``unparsed`` with why."""

    status: str
    probs: dict[str, float] | None
    reason: str

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def answer(self) -> str | None:
        """The most likely answer (the first of tied ones, in the template's order)."""
        return max(self.probs, key=self.probs.__getitem__) if self.probs else None


def parse_distribution(text: str | None, answers: Sequence[str]) -> DistributionParse:
    """Read a JSON object giving every allowed answer a share (percent or fraction); strict, never guessed.

    The whole answer must be the object (a ```json fence around it is allowed); its keys must be exactly
    the allowed answers (any case), its values numbers >= 0 summing to 100 or to 1 within 5%; the shares
    are then divided by their sum. Anything else is unparsed with the reason.
    """
    def bad(reason: str) -> DistributionParse:
        return DistributionParse("unparsed", None, reason)

    body = (text or "").strip()
    fenced = FENCE.match(body)
    body = fenced.group(1) if fenced else body
    try:
        obj = json.loads(body)
    except ValueError:
        return bad("not a JSON object")
    if not isinstance(obj, dict):
        return bad("not a JSON object")
    shares: dict[str, float] = {}
    for key, value in obj.items():
        answer = _match(str(key), answers) if str(key).strip(DECORATION) == str(key).strip() else None
        if answer is None or answer in shares:
            return bad(f"key {str(key)[:30]!r} is not one allowed answer")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
            return bad(f"share of {answer!r} is not a number >= 0")
        shares[answer] = float(value)
    if set(shares) != set(answers):
        return bad("missing " + ", ".join(a for a in answers if a not in shares))
    total = sum(shares.values())
    if not any(abs(total - scale) <= DISTRIBUTION_SUM_SLACK * scale for scale in (100.0, 1.0)):
        return bad(f"shares sum to {total:g}, not 100 or 1")
    return DistributionParse("ok", {a: shares[a] / total for a in answers}, "verbalized distribution")
