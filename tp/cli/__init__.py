"""The `tp` command line: one module per subcommand (add_arguments, run); main.py wires them and their errors."""
