"""Getting human ratings into Annotations: bundled data sets, tables and machine-rater files."""
