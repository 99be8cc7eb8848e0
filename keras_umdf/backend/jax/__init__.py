"""JAX-only code: the data-parallel distribution engine."""
