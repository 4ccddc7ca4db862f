"""Input value types (bounded numbers, days, instants, currencies, enumerations) shared by
the API's request models and the list filters that exports reuse below the API."""
