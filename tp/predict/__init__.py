"""Bulk prediction over files and image folders: streamed in parts, resumable, sharded over processes."""
