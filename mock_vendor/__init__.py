"""mock_vendor wing of the Catalog Connector kit."""
