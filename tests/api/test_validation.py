"""Python arguments get the settings layer's checks and one-line InputErrors naming the argument and value."""

from __future__ import annotations

import pytest

import annalign
from annalign.config import Settings
from annalign.errors import InputError


def _settings_message(**setting) -> str:
    with pytest.raises(InputError) as caught:
        Settings(**setting)
    return str(caught.value)


@pytest.mark.parametrize(
    ("make", "setting", "label"),
    [
        (lambda: annalign.Resampling(n_boot=5), {"bootstrap": 5}, "Resampling n_boot"),
        (lambda: annalign.Resampling(seed=-1), {"seed": -1}, "Resampling seed"),
        (lambda: annalign.AltTestOptions(scoring="rmse"), {"alt_scoring": "rmse"}, "AltTestOptions scoring"),
        (lambda: annalign.GroupingOptions(missing_attr="skip"), {"missing_attr": "skip"}, "GroupingOptions missing_attr"),
        (lambda: annalign.PowerOptions(items=[2]), {"power_items": [2]}, "PowerOptions items"),
        (lambda: annalign.DisagreementOptions(threshold_quantile=1.0), {"threshold_quantile": 1.0}, "DisagreementOptions threshold_quantile"),
    ],
)
def test_option_objects_use_the_settings_rules(make, setting, label):
    with pytest.raises(InputError) as caught:
        make()
    message = str(caught.value)
    assert message.startswith(label + " must be ") and "\n" not in message
    assert message.split(" must be ", 1)[1] == _settings_message(**setting).split(" must be ", 1)[1]


def test_bad_arguments_of_the_analysis_functions(ann, judges):
    with pytest.raises(InputError, match=r"^level must be a number strictly between 0 and 1, got 1.5"):
        annalign.alignment(ann, judges, level=1.5)
    with pytest.raises(InputError, match=r"^method must be one of auto, pearson, spearman, kendall, got 'pearsn'.*did you mean 'pearson'"):
        annalign.alignment(ann, judges, method="pearsn")
    with pytest.raises(InputError, match="machines must be MachineRatings"):
        annalign.alignment(ann, "judge.csv")
    with pytest.raises(InputError, match="data must be Annotations"):
        annalign.group_alignment("dices350", judges)
    with pytest.raises(InputError, match="power must be True, False or a PowerOptions"):
        annalign.group_alignment(ann, judges, power=5)


def test_load_checks_its_arguments():
    with pytest.raises(InputError, match="^raters must be one of all, dices-kept, got 'kept'"):
        annalign.load("dices350", raters="kept")
    with pytest.raises(InputError, match="neither a bundled name"):
        annalign.load("dices351")
    kept = annalign.load("dices350", raters="dices-kept")
    assert 0 < kept.n_raters < 123


def test_run_settings_overrides_are_checked():
    with pytest.raises(InputError, match="unknown setting 'bootstrapp'.*did you mean 'bootstrap'"):
        annalign.run({"dataset": "dices350"}, bootstrapp=100)
    with pytest.raises(InputError, match="^setting 'bootstrap' must be a whole number of at least 10, got 3"):
        annalign.run(None, bootstrap=3)
    with pytest.raises(InputError, match="config must be a TOML file path, a Settings or a mapping"):
        annalign.run(42)


def test_load_machines_rescales_onto_the_humans_scale(ann, tmp_path):
    source = (tmp_path / "likert.csv")
    source.write_text("item_id,score\n" + "".join(f"{i},{1 + k % 5}\n" for k, i in enumerate(ann.item_ids)), "utf-8")
    machines = annalign.load_machines(source, ann, scale=(1, 5))
    assert machines.scores.min() == 0.0 and machines.scores.max() == 1.0  # DICES ratings span 0..1
    with pytest.raises(InputError, match="outside --machine-scale 1,4"):
        annalign.load_machines(source, ann, scale=(1, 4))
