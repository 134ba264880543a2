"""What the subcommand lists show of each command: its module docstring's first phrase."""

import re


def summary(doc: str) -> str:
    """A module docstring's first phrase, for the list of subcommands: up to its example or its first stop."""
    return re.split(r":?\s+`|\.\s|\.$|:$", doc.split("\n")[0])[0]
