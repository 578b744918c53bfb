"""Writes of the labelling domain, split by meaning: projects, images, annotations, jobs."""
