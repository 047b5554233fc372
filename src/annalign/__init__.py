"""annalign: measure how far an LLM's annotations agree with a diverse pool of human annotators."""

from annalign.core.annotations import Annotations
from annalign.core.ratingmap import RatingMap
from annalign.errors import InputError

__version__ = "0.1.0"

__all__ = ["Annotations", "InputError", "RatingMap", "__version__"]
