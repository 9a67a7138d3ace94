"""skelloc.models."""
