"""Scenarios: the Scenario model, YAML loading and validation, and the initial-state workspace."""

from costar.scenarios._load import LoadedScenario, Suite, load_file, load_suite, scenario_files
from costar.scenarios._model import (
    SCENARIO_VERSION,
    Expectations,
    ExpectedArtifact,
    ExpectedToolCall,
    FileSpec,
    Scenario,
    Setup,
    SetupCommand,
    SimulatedUser,
    SqliteSeed,
    StateAssertion,
)
from costar.scenarios._workspace import SetupError, Workspace, build_workspace, snapshot_state

__all__ = [
    "SCENARIO_VERSION",
    "ExpectedArtifact",
    "ExpectedToolCall",
    "Expectations",
    "FileSpec",
    "LoadedScenario",
    "Scenario",
    "Setup",
    "SetupCommand",
    "SetupError",
    "SimulatedUser",
    "SqliteSeed",
    "StateAssertion",
    "Suite",
    "Workspace",
    "build_workspace",
    "load_file",
    "load_suite",
    "scenario_files",
    "snapshot_state",
]
