"""DICES-350 with the two machine-rater fixtures, loaded through the public API, and small RQ1-RQ3 results."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

import annalign

FIXTURES = Path(__file__).parent.parent / "fixtures"
JUDGES = [FIXTURES / "dices350-judge-a.csv", FIXTURES / "dices350-judge-b.csv"]


@pytest.fixture(scope="session")
def ann() -> annalign.Annotations:
    return annalign.load("dices350")


@pytest.fixture(scope="session")
def judges(ann) -> annalign.MachineRatings:
    return annalign.load_machines(JUDGES, ann)


@pytest.fixture(scope="session")
def rq1(ann, judges) -> annalign.RQ1Result:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", annalign.AnalysisWarning)
        return annalign.alignment(ann, judges, resampling=200, level=0.95)


@pytest.fixture(scope="session")
def rq2(ann, judges) -> annalign.GroupResult:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", annalign.AnalysisWarning)
        return annalign.group_alignment(ann, judges, resampling=annalign.Resampling(n_boot=100, n_perm=50), power=False)


@pytest.fixture(scope="session")
def rq3(ann, judges) -> annalign.DisagreementResult:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", annalign.AnalysisWarning)
        return annalign.disagreement(ann, baselines=judges, resampling=annalign.Resampling(n_boot=100, n_perm=50, n_splits=10))
