"""Data: reading sources (files, folders, the Hub, built-ins), images, splits and label checks."""
