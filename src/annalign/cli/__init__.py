"""The command line: thin click wrappers over the public Python API.

Imported before numpy, so it can ask OpenBLAS for one thread (unless the user set a count): the
analyses' matrix products are small, and a second BLAS thread only spins against the report's
drawing process or other work on the machine; on 2 busy cores it doubled ``analyze``'s analyses.
"""

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
