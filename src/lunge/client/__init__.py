"""The request toolkit: single requests over pycurl, assertions, suites and their reports."""
