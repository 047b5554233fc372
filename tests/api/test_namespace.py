"""``import annalign`` is cheap, every public name resolves, and datasets/report are both packages and functions."""

from __future__ import annotations

import subprocess
import sys

import pytest

import annalign

HEAVY = ("numpy", "pandas", "scipy", "matplotlib", "click", "annalign.engine", "annalign.analyses.alignment", "annalign.config")


def _python(code: str) -> str:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_import_annalign_loads_no_heavy_module():
    loaded = _python(f"import sys, annalign; print(','.join(m for m in {HEAVY!r} if m in sys.modules))")
    assert loaded == ""


def test_option_objects_do_not_need_the_analyses():
    loaded = _python(f"import sys, annalign; annalign.Resampling; print(','.join(m for m in {HEAVY!r} if m in sys.modules))")
    assert "annalign.analyses.alignment" not in loaded and "matplotlib" not in loaded


@pytest.mark.parametrize("name", sorted(set(annalign.__all__) - {"annotate"}))
def test_every_public_name_resolves(name):
    assert getattr(annalign, name) is not None


def test_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'alignmnet'"):
        annalign.alignmnet  # noqa: B018


def test_report_and_datasets_are_callable_whatever_was_imported_first():
    out = _python(
        "import annalign.report.render, annalign.datasets.bundled\n"
        "import annalign\n"
        "print(callable(annalign.report), callable(annalign.datasets), annalign.report.write_report.__name__,\n"
        "      list(annalign.datasets()['name']))"
    )
    assert out == "True True write_report ['dices350', 'dices990']"


def test_datasets_lists_the_bundled_sets_with_sizes():
    frame = annalign.datasets()
    row = frame.set_index("name").loc["dices350"]
    assert (row["items"], row["raters"], row["ratings"]) == (350, 123, 43050)


def test_annotate_is_the_engines_annotate_ratings():
    import annalign.engine as engine

    if not hasattr(engine, "annotate_ratings"):
        with pytest.raises(AttributeError, match="annotate_ratings"):
            annalign.annotate  # noqa: B018
        pytest.skip("annalign.engine.annotate_ratings arrives with the backend registry")
    assert annalign.annotate is engine.annotate_ratings
