"""The figures' look and plumbing: Okabe-Ito colours with distinct line styles and markers (readable in grey print),
label escaping, and making, drawing and saving figures; matplotlib is imported only when a figure is drawn."""

from __future__ import annotations

import io
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from annalign.redaction import redact

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

#: Okabe & Ito (2008) colour-blind-safe palette.
OKABE_ITO = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000"]
LINESTYLES: list[Any] = ["-", "--", "-.", ":", (0, (5, 1, 1, 1)), (0, (3, 1, 1, 1, 1, 1))]
MARKERS = ["o", "s", "D", "^", "v", "P", "X", "*"]
GREY = "#8c8c8c"
GRID = "#e6e6e6"
#: most series (machines, comparisons) one figure shows in colour
MAX_SERIES = 8
#: pixels per inch of the report's PNG files
DPI = 100

STYLE: dict[str, Any] = {
    "font.size": 10,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "legend.fontsize": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "text.usetex": False,
}


def plain(text: object) -> str:
    """A label that matplotlib draws literally (no mathtext from '$'), with secrets redacted."""
    return redact(str(text)).replace("$", r"\$")


def wrap(text: object, width: int = 34) -> str:
    """A plain label wrapped onto several lines."""
    return "\n".join(textwrap.wrap(plain(text), width)) or plain(text)


def colour(k: int) -> str:
    """The k-th series colour."""
    return OKABE_ITO[k % len(OKABE_ITO)]


def line(k: int) -> Any:
    """The k-th series line style."""
    return LINESTYLES[k % len(LINESTYLES)]


def marker(k: int) -> str:
    """The k-th series marker."""
    return MARKERS[k % len(MARKERS)]


@contextmanager
def style() -> Iterator[None]:
    """The report's rc settings for the artists made inside the block."""
    import matplotlib

    with matplotlib.rc_context(STYLE):
        yield


def new_figure(width: float, height: float) -> Figure:
    """A figure on the Agg canvas, outside pyplot (no global state, nothing to close)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    with style():
        fig = Figure(figsize=(width, height), dpi=DPI)
    FigureCanvasAgg(fig)
    return fig


def axes_or_new(ax: Axes | None, width: float, height: float) -> Axes:
    """``ax`` itself, else one new Axes on a pyplot figure (so it shows in a notebook)."""
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    with style():
        _fig, new = plt.subplots(figsize=(width, height))
    return new


def tidy(ax: Axes, grid: str | None = None) -> None:
    """Hide the top and right spines, and draw a light grid on ``grid`` ("x" or "y")."""
    ax.spines["top"].set_visible(False)
    ax.spines["right"].set_visible(False)
    if grid:
        ax.grid(axis=grid, color=GRID, linewidth=0.8)
        ax.set_axisbelow(True)


def legend_right(ax: Axes) -> None:
    """A frameless legend just right of the axes."""
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)


def png_bytes(fig: Figure) -> bytes:
    """The figure as PNG, cropped to its artists (fast zlib level; no software metadata: the same figure gives the same bytes)."""
    buffer = io.BytesIO()
    with style():
        # The tight box straight from the artists: what bbox_inches="tight" finds, without its extra (disabled) draw pass.
        renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
        box = fig.get_tightbbox(renderer).padded(0.1)
        fig.savefig(buffer, format="png", dpi=DPI, bbox_inches=box, metadata={"Software": None}, pil_kwargs={"compress_level": 1})
    return buffer.getvalue()


def save_png(fig: Figure, path: str | Path) -> Path:
    """Write the figure as a PNG file; returns the path."""
    path = Path(path)
    path.write_bytes(png_bytes(fig))
    return path


def png_size(data: bytes) -> tuple[int, int]:
    """(width, height) in pixels from a PNG's header."""
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
