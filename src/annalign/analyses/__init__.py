"""One module per analysis (RQ1 alignment, alt-test, RQ2 group alignment, power, variation, RQ3 disagreement).

``@analysis("name")`` registers one more (see annalign.analyses.registry and
docs/recipes/add-an-analysis.md); importing this package imports no analysis module.
"""

from annalign.analyses.registry import analysis, get_analysis, registered, unregister

__all__ = ["analysis", "get_analysis", "registered", "unregister"]
