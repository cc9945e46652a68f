"""aicc wing of the Catalog Connector kit."""
