"""The run's report: figures (PNG and SVG), one self-contained report.html and report.md."""

from annalign.report.render import CSP, write_report

__all__ = ["CSP", "write_report"]
