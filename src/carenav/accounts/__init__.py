"""Organizations (tenants), teams, users, API tokens and login sessions."""
