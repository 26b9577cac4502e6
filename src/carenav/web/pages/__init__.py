"""HTML/HTMX routes, one module per area: parse -> service or query -> page or fragment."""
