"""The demo clinic's people and records for provision_demo: staff logins,
workflows and patients (portal.demo.data)."""
