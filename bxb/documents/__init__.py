"""Documents a person reads: invoice PDFs."""
