"""`python -m flattener` is the `flatten` command."""

from .cli import main

main()
