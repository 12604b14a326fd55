"""`python -m temporallite` runs the command line."""

from temporallite.cli import main

main(prog_name="temporallite")
