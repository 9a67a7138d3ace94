"""skelloc.io."""
