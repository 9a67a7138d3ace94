"""skelloc.hub."""
