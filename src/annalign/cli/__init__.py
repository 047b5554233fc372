"""The command line: thin click wrappers over the public Python API."""
