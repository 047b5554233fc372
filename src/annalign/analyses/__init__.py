"""One module per analysis (RQ1 alignment, alt-test, RQ2 group alignment, power, variation, RQ3 disagreement)."""
