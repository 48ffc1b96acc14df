"""The benchmark of drf-import-export-jobs (``make bench``); not part of the package."""
