"""The in-memory data model every layer shares: ratings, rating maps, machine raters, groupings; no I/O, no analyses."""
