"""BOINC's sample validators and script_validator on the framework in
sched/validator.py; each module is the program of the same name in bin/."""
