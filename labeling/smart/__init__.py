"""Smart drawing tools that need no downloaded weights: pure functions over numpy arrays.

No ORM and no storage here (labeling/services/smart.py reads the image and caches its levels);
OpenCV and scikit-image only, so the web process can run them without TensorFlow.
"""
