"""`python -m deepglass`: the `deepglass` command."""
from .cli import main

main()
