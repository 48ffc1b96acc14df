"""Export jobs: a resource's queryset written to a file (see the map in
:mod:`drf_import_export_jobs.pipeline`)."""
