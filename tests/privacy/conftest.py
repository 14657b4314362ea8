"""The fixture scripts import packages the tests do not (privacy-estimates); skip them."""

collect_ignore_glob = ["fixtures/*.py"]
