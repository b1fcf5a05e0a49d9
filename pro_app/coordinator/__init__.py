"""The staff side: login, the study dashboard, handing the tablet to a patient."""
