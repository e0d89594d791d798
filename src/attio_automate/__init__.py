"""attio-automate: a self-hosted, plugin-based automation runner for Attio CRM."""
