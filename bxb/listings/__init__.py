"""The filters of the list routes, defined once: a model of what a list may be filtered on
and the query it makes. The list routes (query parameters) and data exports (a JSON
`filters` object, checked by the same model, run later by a worker) share them."""
