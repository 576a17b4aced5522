"""embed stage (see core/__init__.py for the data flow)."""
