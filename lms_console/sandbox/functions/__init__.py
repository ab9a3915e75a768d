"""Web-service function implementations, one module per area (users, cohorts, courses, ...)."""
