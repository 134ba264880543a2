"""REST routes, one module per concern."""
