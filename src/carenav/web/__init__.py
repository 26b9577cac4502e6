"""The web application: app assembly, pages, templates and static assets."""
