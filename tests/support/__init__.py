"""Helpers for the test suite, importable as ``tests.support.<module>`` (the project root on
``sys.path``, as ``python -m pytest`` from the root or ``PYTHONPATH`` gives it).

- :mod:`~tests.support.common`: the suite's passphrases, the project root, and the rule for a
  missing tool or corpus (skip locally, fail under CI);
- :mod:`~tests.support.attacks`: attack documents for the verify tests;
- :mod:`~tests.support.pdfmakers`: genuine PDFs with odd geometry, fields or signatures;
- :mod:`~tests.support.producers`: PDFs from real producers, hostile inputs, a throwaway wallet;
- :mod:`~tests.support.robustness`: the robustness expectations and checks (also behind
  ``scripts/robustness.py``, which writes docs/robustness.md);
- :mod:`~tests.support.fuzz`: the mutation-fuzzing engine (behind ``scripts/fuzz.py``);
- :mod:`~tests.support.stamping`: the stamp tests' shared home, renderers and stamp detectors;
- :mod:`~tests.support.cli`: running the CLI in-process and reading its output;
- :mod:`~tests.support.pgserver`, :mod:`~tests.support.tsaserver`: a throwaway PostgreSQL server
  and an RFC 3161 timestamp authority on loopback.
"""
