"""skelloc.metrics."""
