"""skelloc.viz."""
