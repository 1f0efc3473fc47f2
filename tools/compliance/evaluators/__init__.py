"""The shipped evaluators, one module per family; `registry.REGISTRY` joins them."""
