"""GitHub through PyGithub: one client factory, and registering feedstocks as repositories."""
