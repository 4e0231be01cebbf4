"""The `recdsl` command (recdsl.cli.main:main): the only code that prints or exits.

main parses the arguments and reports errors; spec, train and export hold the commands,
each calling the library; reference refreshes docs/language.md's op reference."""
