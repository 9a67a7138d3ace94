"""skelloc.skeleton."""
