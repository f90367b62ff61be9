"""digitnet: an 8x8 digit classifier, run as `python -m digitnet.train`."""
__version__ = "0.1.0"
