"""`python -m nightshift.cli`: the same as the `nightshift` command."""

from nightshift.cli import main

main()
