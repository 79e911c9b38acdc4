"""intake service: Applications, the service catalog, receipts and the resident status view."""
