"""Training: the Trainer run, defaults chosen from the data, the search, memory plans."""
