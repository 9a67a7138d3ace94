"""skelloc.inference."""
