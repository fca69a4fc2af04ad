"""`_compression`, the internal base classes of the bz2, gzip and lzma streams, under the
name CPython 3.14 still has (sys.stdlib_module_names lists it, and third-party compressors
import it). RustPython 0.6.0 keeps them only as `compression._common._streams`; this module
gives them their old name."""

from compression._common._streams import BUFFER_SIZE, BaseStream, DecompressReader

__all__ = ["BUFFER_SIZE", "BaseStream", "DecompressReader"]
