"""The camera as a source of images: pure helpers (no Django) used by labeling/services/camera.py."""
