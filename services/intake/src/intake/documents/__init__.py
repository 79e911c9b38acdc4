"""Documents at intake: the store (`store`), photo metadata stripping (`photos`) and the
streamed multipart reader (`multipart`)."""
