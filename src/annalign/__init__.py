"""annalign: measure how far an LLM's annotations agree with a diverse pool of human annotators."""

from annalign.errors import InputError
from annalign.matrix import Annotations
from annalign.ratingmap import RatingMap

__version__ = "0.1.0"

__all__ = ["Annotations", "InputError", "RatingMap", "__version__"]
