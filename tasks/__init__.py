"""Prefect tasks: thin wrappers over ``labelops`` functions (retries, logging, artifacts)."""
