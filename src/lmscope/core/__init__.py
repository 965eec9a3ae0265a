"""The bottom layer: the data record analyses read, parameter checks, the archive format,
the result base and plotting helpers. Nothing here imports from the rest of lmscope."""

from .archive import ArchiveError
from .checks import validated
from .record import ActivationMode, ModelLink, Record, RunFileError
from .results import Result, analysis

__all__ = ["ActivationMode", "ArchiveError", "ModelLink", "Record", "Result", "RunFileError", "analysis", "validated"]
