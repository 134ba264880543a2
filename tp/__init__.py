"""tp: fine-tune, measure, compress, publish and serve Hugging Face classifiers.

Importing tp is cheap: heavy libraries (torch, transformers) load inside the functions that use them.
"""

__version__ = "0.1.0"
