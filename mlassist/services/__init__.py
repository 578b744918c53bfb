"""Writes of model assistance. TensorFlow is imported inside the functions that run in workers,
never at module level, so the web process can import these modules without it."""
