"""Import jobs: a file read in chunks and imported through a resource (see
the map in :mod:`drf_import_export_jobs.pipeline`)."""
