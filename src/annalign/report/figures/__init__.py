"""The report's figures, one function per figure: each takes a result (or a RunResult) and an optional matplotlib ``ax=``,
draws on it (or on a new pyplot figure) and returns the Axes. Importing this package does not import matplotlib.

    fig, ax = plt.subplots()
    annalign.report.figures.plot_alignment(result, ax=ax)
"""

from annalign.report.figures.alignment import plot_alignment
from annalign.report.figures.disagreement import plot_disagreement, plot_disagreement_items
from annalign.report.figures.distribution import plot_item_distributions, plot_k_curve
from annalign.report.figures.groups import plot_group_alignment, plot_group_raters
from annalign.report.figures.power import plot_power
from annalign.report.figures.style import new_figure, png_bytes, save_png

__all__ = [
    "new_figure",
    "plot_alignment",
    "plot_disagreement",
    "plot_disagreement_items",
    "plot_group_alignment",
    "plot_group_raters",
    "plot_item_distributions",
    "plot_k_curve",
    "plot_power",
    "png_bytes",
    "save_png",
]
