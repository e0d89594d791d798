"""Tools for rule authors, built over the whole assembly: dry runs of one
event (:mod:`.dryrun`) and YAML test cases (:mod:`.cases`), against a
sandboxed fake Attio."""
