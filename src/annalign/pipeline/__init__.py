"""A whole run: settings -> data -> (annotation) -> analyses -> results."""
