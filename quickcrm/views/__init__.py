"""One blueprint per area (docs/architecture.md): thin views that read the request, call
the domain, and render a page or its fragment. Only ``create_app`` imports them; what two
views share is in ``quickcrm.web``."""
