"""The vendor contract v1 as data: JSON Schemas, the requirement catalogue, OpenAPI."""
