"""One module per `run_ensemble.py` subcommand: `add_arguments(parser)` and `main(args, overrides)`."""
