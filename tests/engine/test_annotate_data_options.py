"""``annotate`` takes the data options of ``analyze`` and can be told which columns hold the conversation (issue 14)."""

from __future__ import annotations

import pandas as pd
from click.testing import CliRunner

from annalign.cli.annotate import annotate as annotate_command


def _long_file(tmp_path, dices) -> str:
    rows = []
    for k, item in enumerate(dices.item_ids[:5]):
        for rater in ("r1", "r2"):
            rows.append({"q": f"{item}.0" if rater == "r2" else item, "who": rater, "stars": (k % 5) + 1,
                         "prompt": dices.items["context"].iloc[k], "reply": dices.items["response"].iloc[k]})
    path = tmp_path / "survey.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return str(path)


def test_annotate_reads_a_long_form_file_with_custom_text_columns(tmp_path, dices, fake_server):
    server = fake_server().start()
    data = _long_file(tmp_path, dices)
    out = tmp_path / "r.csv"
    args = ["--dataset", data, "--item-col", "q", "--rater-col", "who", "--rating-col", "stars", "--rating-map", "numeric",
            "--model", f"openai:fake@{server.base_url}", "--ledger", str(tmp_path / "l.sqlite"), "--out", str(out), "--no-progress"]
    missing = CliRunner().invoke(annotate_command, args)
    assert missing.exit_code != 0 and "no context or response column" in str(missing.exception)
    result = CliRunner().invoke(annotate_command, [*args, "--context-col", "prompt", "--response-col", "reply"])
    assert result.exit_code == 0, result.output
    frame = pd.read_csv(out, dtype={"item_id": str})
    assert sorted(frame["item_id"]) == sorted(dices.item_ids[:5]) and frame["score"].notna().all()
    wrong = CliRunner().invoke(annotate_command, [*args, "--context-col", "nope", "--response-col", "reply"])
    assert "has no item column 'nope'" in str(wrong.exception)
