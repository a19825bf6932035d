"""The statistics app's pages, downloads and API: thin views over selectors and outputs."""
