"""The console's blueprints, one per page family; they render, they never query SQL."""
