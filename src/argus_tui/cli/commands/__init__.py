"""One module per command group, each with `run(ctx, args) -> exit code`.

`argus_tui.cli.main` imports only the module of the command being run.
"""
