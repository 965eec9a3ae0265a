"""lmscope: see why a transformer language model wrote what it wrote.

>>> import lmscope
>>> scope = lmscope.load()                                  # doctest: +SKIP
>>> run = scope.generate("1, 2, 3,", max_new_tokens=6)      # doctest: +SKIP
"""

from .anatomy import Anatomy, AnatomyError
from .run import Run, RunFileError, load_run
from .scope import Scope, load
from .corpus import load_corpus
from .saliency import saliency_methods
from .views import combined

__version__ = "0.1.0"
__all__ = ["Anatomy", "AnatomyError", "Run", "RunFileError", "Scope", "combined", "load", "load_corpus", "load_run",
           "saliency_methods"]
