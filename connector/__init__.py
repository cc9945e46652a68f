"""connector wing of the Catalog Connector kit."""
