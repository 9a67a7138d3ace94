"""skelloc.train."""
