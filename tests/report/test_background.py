"""Figures drawn in forked workers while the analyses run are the same PNGs the report draws itself; anything else is drawn as before."""

from __future__ import annotations

import multiprocessing
import os
import pickle
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from reportkit import FIXTURES, synthetic_data, synthetic_machines

from annalign.config import Settings
from annalign.pipeline.run import collect_warnings, run_analyses
from annalign.report import write_report
from annalign.report.background import FigureWorkers, default_workers, part_section
from annalign.report.draw import Panels, Single, render, signature
from annalign.report.model import FigureRef
from annalign.report.sections import figures_in, report_sections

needs_fork = pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="the workers are forked")
PARENT = os.getpid()


def _run_with(workers: FigureWorkers):
    """The small synthetic run of the report tests, each part handed to ``workers`` as it is computed."""
    data = synthetic_data()
    settings = Settings(dataset="synthetic", bootstrap=100, alt_min_items=10, power_items=[40, 400])
    with collect_warnings([]):
        return run_analyses(data, synthetic_machines(data), settings, on_result=workers.submit)


def _pngs(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((folder / "figures").glob("*.png"))}


def test_drawings_pickle_and_draw_the_same_png_after_a_round_trip():
    with FigureWorkers(0) as workers:
        run = _run_with(workers)
    figures = figures_in(report_sections(run))
    assert {type(f.draw) for f in figures} == {Single, Panels}
    for figure in figures[:3]:
        copy = pickle.loads(pickle.dumps(figure))
        assert render(copy) == render(figure)


def test_a_drawing_signature_names_its_result_object_not_an_equal_copy():
    with FigureWorkers(0) as workers:
        run = _run_with(workers)
    first = figures_in(report_sections(run))[0]
    again = figures_in(report_sections(run))[0]
    assert signature(first) == signature(again)
    copied = replace(run, rq1=pickle.loads(pickle.dumps(run.rq1)))
    assert signature(figures_in(report_sections(copied))[0]) != signature(first)
    closure = FigureRef("x", "t", "r", "a", lambda: None)  # type: ignore[arg-type,return-value]
    assert signature(closure) is None


@needs_fork
def test_workers_draw_every_figure_of_the_run_and_the_report_uses_their_pngs(tmp_path):
    with FigureWorkers(2) as workers:
        assert workers.active
        run = _run_with(workers)
        figures = figures_in(report_sections(run))
        assert figures and all(workers.covers(f) for f in figures)
        write_report(run, tmp_path / "early", drawn=workers)
    write_report(run, tmp_path / "here", workers=1)
    early, here = _pngs(tmp_path / "early"), _pngs(tmp_path / "here")
    assert early == here and len(early) == len(figures)
    assert (tmp_path / "early" / "report.md").read_text("utf-8") == (tmp_path / "here" / "report.md").read_text("utf-8")


@needs_fork
def test_a_figure_of_another_result_object_is_not_covered_and_is_drawn_by_the_report(tmp_path):
    with FigureWorkers(1) as workers:
        run = _run_with(workers)
        other = replace(run, rq1=pickle.loads(pickle.dumps(run.rq1)))
        rq1_figure = figures_in(report_sections(other))[0]
        assert rq1_figure.id == "rq1_human_distribution" and not workers.covers(rq1_figure)
        assert workers.png(rq1_figure) is None
        paths = write_report(other, tmp_path, drawn=workers)
    assert paths["rq1_human_distribution.png"].read_bytes() == render(figures_in(report_sections(run))[0])


def _fails_in_a_worker(result, ax=None):
    """A plot that raises in any process but the test's own (so only the worker's drawing fails)."""
    if os.getpid() != PARENT:
        raise RuntimeError("drawing failed in the worker")
    ax.plot([0, 1], [0, 1])
    return ax


@needs_fork
def test_a_drawing_that_fails_in_a_worker_is_drawn_again_by_the_report(tmp_path):
    figure = FigureRef("flaky", "t", "r", "a", Single(_fails_in_a_worker, None, (2.0, 2.0)))
    with FigureWorkers(1) as workers:
        workers.draw([figure])
        assert workers.covers(figure)
        assert workers.png(figure) is None  # the worker raised
        from annalign.report.draw import draw_all

        written = draw_all([figure], tmp_path, drawn=workers)
    assert written["flaky"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_with_no_workers_nothing_is_covered_and_submit_is_a_no_op():
    with FigureWorkers(0) as workers:
        assert not workers.active
        run = _run_with(workers)
        assert not any(workers.covers(f) for f in figures_in(report_sections(run)))


def test_part_sections_are_the_report_sections_of_each_part():
    with FigureWorkers(0) as workers:
        run = _run_with(workers)
    by, rq2 = next(iter(run.rq2.items()))
    ids = [f.id for f in figures_in(report_sections(run))]
    parts = [part_section("rq1", run.rq1, 0), part_section(f"rq2:{by}", rq2, 0), part_section("rq3", run.rq3, 0)]
    assert [f.id for s in parts if s is not None for f in s.blocks if isinstance(f, FigureRef)] == ids
    assert part_section("alt", object(), 0) is None


def test_no_workers_where_forking_is_unsafe(monkeypatch):
    import threading

    monkeypatch.setattr(threading, "active_count", lambda: 3)
    assert default_workers() == 0


@needs_fork
def test_annalign_analyze_draws_in_workers_and_writes_the_same_report_as_drawing_at_the_end(tmp_path):
    """The command line as a user runs it (a fresh process, so the workers are forked), against one that draws at the end."""
    args = ["analyze", "--dataset", "dices350", "--bootstrap", "200", "--ratings", str(FIXTURES / "dices350-judge-a.csv")]
    code = "import sys; from annalign.cli.commands import main; sys.exit(main(sys.argv[1:]))"
    serial = "import sys, annalign.report.background as b; b.default_workers = lambda: 0; from annalign.cli.commands import main; sys.exit(main(sys.argv[1:]))"
    for name, program in (("early", code), ("end", serial)):
        proc = subprocess.run([sys.executable, "-c", program, *args, "--out", str(tmp_path / name)], capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, proc.stderr[-2000:]
    assert _pngs(tmp_path / "early") == _pngs(tmp_path / "end") and len(_pngs(tmp_path / "end")) >= 5
    assert (tmp_path / "early" / "report.md").read_text("utf-8") == (tmp_path / "end" / "report.md").read_text("utf-8")


@needs_fork
def test_sections_built_during_the_run_are_handed_to_the_report_as_fresh_copies():
    with FigureWorkers(1) as workers:
        run = _run_with(workers)
        by = next(iter(run.rq2))
        first, again = workers.section("rq1", run.rq1), workers.section("rq1", run.rq1)
        assert first is not None and again is not None and first is not again
        assert [b.title for b in first.blocks] == [b.title for b in again.blocks]
        assert first.blocks[0] is not again.blocks[0] and first.blocks[0].draw is again.blocks[0].draw
        assert workers.section(f"rq2:{by}", run.rq2[by]) is not None and workers.section("rq3", run.rq3) is not None
        assert workers.section("rq1", pickle.loads(pickle.dumps(run.rq1))) is None
        assert workers.section("rq3", run.rq1) is None
        numbered = report_sections(run, workers.section)
    assert [s.id for s in numbered] == [s.id for s in report_sections(run)]
    assert [b.title for s in numbered for b in s.blocks] == [b.title for s in report_sections(run) for b in s.blocks]


def _logged(result, ax=None, log="", name=""):
    """A plot that notes its name in a file (the order the worker drew in)."""
    with open(log, "a", encoding="utf-8") as f:
        f.write(name + "\n")
    ax.plot([0, 1], [0, 1])
    return ax


@needs_fork
def test_drawings_with_more_panels_are_handed_over_first(tmp_path):
    log = str(tmp_path / "order.txt")
    one = FigureRef("one", "t", "r", "a", Single(_logged, None, (2.0, 2.0), {"log": log, "name": "one"}))
    three = FigureRef("three", "t", "r", "a", Panels(_logged, None, [{"log": log, "name": f"three-{k}"} for k in range(3)], (2.0, 2.0)))
    two = FigureRef("two", "t", "r", "a", Panels(_logged, None, [{"log": log, "name": f"two-{k}"} for k in range(2)], (2.0, 2.0)))
    with FigureWorkers(1) as workers:
        workers.draw([one, two, three])
        assert all(workers.png(f) for f in (one, two, three))
    assert (tmp_path / "order.txt").read_text("utf-8").split() == ["three-0", "three-1", "three-2", "two-0", "two-1", "one"]


def test_where_worker_processes_cannot_start_the_report_draws_everything(monkeypatch, tmp_path):
    import annalign.report.background as background

    def refuse(*_args, **_kwargs):
        raise OSError("no /dev/shm")

    monkeypatch.setattr(background, "ProcessPoolExecutor", refuse)
    with FigureWorkers(2) as workers:
        assert not workers.active
        run = _run_with(workers)
        paths = write_report(run, tmp_path, drawn=workers, workers=1)
    assert paths["rq1_human_distribution.png"].read_bytes() == render(figures_in(report_sections(run))[0])


def test_a_section_that_cannot_be_built_during_the_run_is_left_to_the_report(monkeypatch):
    import annalign.report.background as background

    def broken(*_args):
        raise KeyError("a column the section needs")

    with FigureWorkers(1) as workers:
        monkeypatch.setattr(background, "part_section", broken)
        run = _run_with(workers)  # the analyses finish
        assert workers.section("rq1", run.rq1) is None
        assert not any(workers.covers(f) for f in figures_in(report_sections(run)))
