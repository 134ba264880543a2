"""Models: classifiers for each task, loading run folders, LoRA merge, text encoding, explanations."""
