"""`python -m tests.e2e.mig_app`: the TUI on the migration cluster (tests/mig_scenario.py)
as the operator token, the simulator's clock running in real time; for the tmux test."""

from __future__ import annotations

from tests.mig_scenario import TOKENS, mig_scenario, secret_of
from tests.ui.conftest import session_for

from argus_tui.sim.scenario import scenario_from_dict
from argus_tui.sim.server import Simulator
from argus_tui.ui.app import ArgusApp


def main() -> int:
    sim = Simulator(scenario_from_dict(mig_scenario()), port=0).start()
    try:
        token = TOKENS["operator"]
        app = ArgusApp(session_for(sim, token, secret_of(token)))
        return app.run() or 0
    finally:
        sim.stop()


if __name__ == "__main__":
    raise SystemExit(main())
