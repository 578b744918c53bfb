"""Machine-learning core of model assistance: backbone, features, heads, training, prediction, export.

Pure Python + Keras: no Django import anywhere in this package. The Django side
(mlassist.services, mlassist.tasks) feeds it plain arrays and stores what it returns.
TensorFlow is imported lazily by the modules that need it, so importing the
package (e.g. for BackboneConfig) stays cheap in the web process.
"""

from .config import BackboneConfig

__all__ = ["BackboneConfig"]
