"""CSV data exports: what each resource's file holds (columns), how a worker writes it
(runner), and how the API creates one and streams its file (service)."""
