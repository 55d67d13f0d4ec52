"""Tests of the command line (``emeterai/cli/``), a module for each command group."""
