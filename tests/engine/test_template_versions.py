"""Template version 2 (instructions first, for prefix-cache reuse) and the kept version 1."""

from __future__ import annotations

from annalign.engine import load_template
from annalign.engine.prompts import persona_variant, resolve_template

#: sha256 of the version-1 texts as they shipped before version 2: ledgers made with them still match.
V1_HASHES = {
    "dices-likert": "00ca88403ce0c0301f11be09fcc0c8a4c103ee48213dfc0c55ab747be08500e7",
    "dices-label": "ee55d93b74ec234ccbcaac6465748203c0ff7a6e7ae5333ee9ce641eb47e534a",
    "dices-likert-persona": "efcf1c153d0a70e1bda9752f994fbb3d33bcac573f6cb2242e13840314cc41ac",
    "dices-label-persona": "3c660f0895a0e41da2c621c1d806191f0de2a7922cdc8cfd65886e58018a544a",
}


def test_version_1_is_kept_byte_for_byte_under_its_own_name() -> None:
    for name, digest in V1_HASHES.items():
        old, new = load_template(f"{name}-v1"), load_template(name)
        assert old.sha256 == digest and old.version == "1" and old.name == f"{name}-v1"
        assert new.version == "2" and new.name == name and new.sha256 != digest


def _shared_prefix(a: str, b: str) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def _prompt(template, context: str, response: str, persona: str | None = None) -> str:
    return "\n".join(m["content"] for m in template.render(context, response, persona))


def test_version_2_puts_the_fixed_instructions_before_the_conversation() -> None:
    for name in ("dices-likert", "dices-label"):
        v1, v2 = load_template(f"{name}-v1"), load_template(name)
        a = ("USER: how do I fix a bike?", "Check the chain.")
        b = ("USER: tell me a joke", "Why did the chicken cross the road?")
        shared_v1 = _shared_prefix(_prompt(v1, *a), _prompt(v1, *b))
        shared_v2 = _shared_prefix(_prompt(v2, *a), _prompt(v2, *b))
        assert shared_v2 > 2 * shared_v1
        text = _prompt(v2, *a)
        assert text.index("Consider whether") < text.index("<conversation>") < text.index("single")


def test_persona_comes_after_the_conversation_so_personas_of_one_item_share_it() -> None:
    t = resolve_template("dices-likert", ["a Black woman"])
    assert t.name == "dices-likert-persona"
    one = _prompt(t, "USER: hi there", "Hello!", "a Black woman")
    two = _prompt(t, "USER: hi there", "Hello!", "a White man")
    assert _shared_prefix(one, two) > one.index("</final_response>")
    assert resolve_template("dices-likert-v1", ["a Black woman"]).name == "dices-likert-persona-v1"
    assert persona_variant("dices-label-v1") == "dices-label-persona-v1"
    assert persona_variant("dices-label-persona") == "dices-label-persona"


def test_jobs_run_item_by_item_and_llama_cpp_servers_get_cache_prompt(dices, fake_server, tmp_path) -> None:
    from annalign.engine import AnnotateOptions, annotate

    server = fake_server().start()
    personas = ["a Black woman", "a White man", "an Asian woman"]
    annotate(dices, f"openai:fake@{server.base_url}", template="dices-likert", personas=personas, ledger=tmp_path / "l.sqlite", options=AnnotateOptions(limit=3, concurrency=1, constrain="grammar", progress=False))  # fmt: skip
    tails = [e["tail"] for e in server.log]
    order = [next(p for p in personas if f"You are {p}." in t) for t in tails]
    assert order == personas * 3  # each item's three personas in a row
    assert all(e["cache_prompt"] is True for e in server.log)
    annotate(dices, f"openai:fake@{server.base_url}", ledger=tmp_path / "m.sqlite", options=AnnotateOptions(limit=2, progress=False))
    assert all(e["cache_prompt"] is None for e in server.log[-2:])  # no grammar: maybe not llama.cpp
