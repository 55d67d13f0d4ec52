"""emeterai: local, offline Indonesian e-meterai stamps on PDFs, and their verification."""

__version__ = "0.1.0"
