"""The ``carenav`` command: thin commands over services."""
